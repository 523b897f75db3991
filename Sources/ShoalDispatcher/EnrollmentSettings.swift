import BrokerLauncher
import ShoalCore

/// How a dispatcher enrolls nodes: the broker's password file it adds approved nodes to
/// (and the broker's pid file, to make it reload), and the auto-approve rule.
public struct EnrollmentSettings: Sendable {
    public var passwordFile: BrokerPasswordFile
    /// Requests whose labels match are approved at once; nil: an operator decides each.
    public var autoApprove: Selector?

    public init(passwordFile: BrokerPasswordFile, autoApprove: Selector? = nil) {
        self.passwordFile = passwordFile
        self.autoApprove = autoApprove
    }

    /// Where mosquitto_passwd writes its scratch file (0600, removed at once): beside the
    /// password file, which is private to the broker and the dispatcher.
    var scratchDirectory: String {
        let path = passwordFile.path
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }
}
