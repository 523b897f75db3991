import ArgumentParser
import Foundation
import ShoalCommandLine
import ShoalCore

/// `--key`: the operator key that signs what a command asks of the nodes (a job, a cancel,
/// a quarantine, a release, a change of labels). Nodes that trust keys obey only signed ones.
struct SigningOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Sign with this operator key (default: the key named `default`, when there is one).",
        discussion: "Nodes that trust keys obey only signed jobs and control operations; see `shoal keys`."))
    var key: String?

    /// How long a signed control operation stays valid: long enough for a node that is
    /// briefly away to receive it from its session, short enough to bound a replay after
    /// the node's agent restarts (its replay guard lives in memory).
    static let controlValidity: Double = 3600

    func validate() throws {
        if let key, !OperatorKeyStore.isValidName(key) {
            throw ValidationError("--key '\(key)' is not a key name; see `shoal keys list`")
        }
    }

    /// The key named by `--key`, else this user's default key, if any.
    func signingKey() throws -> OperatorPrivateKey? {
        let store = OperatorKeyStore()
        return try KeysFailure.wrap { try key.map(store.privateKey(named:)) ?? store.defaultKey() }
    }

    /// A signature over `content`, valid for `validity` seconds from now; nil without a key.
    func sign(_ content: some SignableContent, validFor validity: Double = controlValidity) throws -> OperatorSignature? {
        guard let key = try signingKey() else { return nil }
        var generator = SystemRandomNumberGenerator()
        return key.sign(content, expiresAt: Date().timeIntervalSince1970 + min(validity, OperatorSignature.maximumValidity),
                        using: &generator)
    }
}
