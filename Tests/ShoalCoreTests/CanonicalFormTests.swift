import ShoalCore
import Testing

/// The bytes a signature covers: exact, documented (docs/security.md), and unambiguous.
@Suite struct CanonicalFormTests {
    static let content = JobSigningContent(id: "job-1", selector: "role=web", task: .exec(["echo", "a b"]), timeout: 30)

    @Test func aJobsCanonicalBytesAreTheDocumentedText() {
        let bytes = CanonicalForm.of(Self.content, signer: "0123456789abcdef", expiresAt: 1_800_000_000, nonce: "AAAAAAAAAAAAAAAAAAAAAA")
        #expect(String(decoding: bytes, as: UTF8.self) == """
            shoal-signed/1
            kind s3:job
            id s5:job-1
            selector s8:role=web
            task s4:exec
            argc i2
            arg s4:echo
            arg s3:a b
            timeout f403e000000000000
            incident -
            signer s16:0123456789abcdef
            expiresAt f41dad27480000000
            nonce s22:AAAAAAAAAAAAAAAAAAAAAA

            """)
    }

    @Test func aControlOperationsCanonicalBytesNameItsNode() {
        let content = ControlSigningContent(op: "cancel", job: "j1", node: "n1")
        let text = String(decoding: CanonicalForm.of(content, signer: "k", expiresAt: 1, nonce: "n"), as: UTF8.self)
        #expect(text.hasPrefix("shoal-signed/1\nkind s7:control\nop s6:cancel\njob s2:j1\nnode s2:n1\nargc i0\nsigner s1:k\n"))
    }

    /// Every signed field changes the bytes; the unsigned ones (nodes, deadline) are not in them.
    @Test func everySignedFieldChangesTheBytes() {
        let base = Self.content
        var variants: [JobSigningContent] = []
        for change in 0..<6 {
            var copy = base
            switch change {
            case 0: copy.id = "job-2"
            case 1: copy.selector = "role=db"
            case 2: copy.task = .exec(["echo", "a", "b"])
            case 3: copy.task = .shell("echo a b")
            case 4: copy.timeout = 30.000000001
            default: copy.incident = true
            }
            variants.append(copy)
        }
        let signed = { (content: JobSigningContent) in CanonicalForm.of(content, signer: "k", expiresAt: 2e9, nonce: "n") }
        let all = [signed(base)] + variants.map(signed)
        #expect(Set(all).count == all.count)
        #expect(signed(base) != CanonicalForm.of(base, signer: "k2", expiresAt: 2e9, nonce: "n"))
        #expect(signed(base) != CanonicalForm.of(base, signer: "k", expiresAt: 2e9 + 1, nonce: "n"))
        #expect(signed(base) != CanonicalForm.of(base, signer: "k", expiresAt: 2e9, nonce: "m"))
    }

    /// Length prefixes: a value holding a newline and the text of another field cannot
    /// pass for two fields; an argument list cannot be regrouped.
    @Test func valuesCannotImpersonateFields() {
        let sneaky = JobSigningContent(id: "a", selector: "x\ntask s5:shell", task: .shell("s"), timeout: 1)
        let honest = JobSigningContent(id: "a", selector: "x", task: .shell("s"), timeout: 1)
        #expect(CanonicalForm.of(sneaky, signer: "k", expiresAt: 1, nonce: "n") != CanonicalForm.of(honest, signer: "k", expiresAt: 1, nonce: "n"))
        let joined = JobSigningContent(id: "a", selector: "", task: .exec(["a b"]), timeout: 1)
        let split = JobSigningContent(id: "a", selector: "", task: .exec(["a", "b"]), timeout: 1)
        #expect(CanonicalForm.of(joined, signer: "k", expiresAt: 1, nonce: "n") != CanonicalForm.of(split, signer: "k", expiresAt: 1, nonce: "n"))
    }

    /// A job and a control operation never share bytes: one kind's signature is not another's.
    @Test func kindsAreSeparate() {
        let control = ControlSigningContent(op: "cancel", job: "job-1")
        #expect(CanonicalForm.of(control, signer: "k", expiresAt: 1, nonce: "n") != CanonicalForm.of(Self.content, signer: "k", expiresAt: 1, nonce: "n"))
    }

    /// What an agent rebuilds from the job message is what the submitter signed.
    @Test func theJobMessageCarriesTheSubmittedContent() throws {
        let request = SubmitJobRequest(id: "j", selector: "region in (eu, us) || role=web", task: .shell("uptime"), timeout: 12)
        let message = JobMessage(id: "j", selector: try Selector(parsing: request.selector), task: request.task,
                                 timeout: request.timeout, deadline: 2e9, nodes: ["n"], createdAt: 1.9e9)
        #expect(message.signingContent == request.signingContent)
        #expect(SubmitJobRequest(selector: "", task: .shell("x")).signingContent == nil)
    }

    @Test func extremeNumbersHaveOneSpelling() {
        for value in [0.0, -0.0, 1e300, -1, .nan, .infinity, .leastNonzeroMagnitude] {
            var content = Self.content
            content.timeout = value
            let text = String(decoding: CanonicalForm.of(content, signer: "k", expiresAt: value, nonce: "n"), as: UTF8.self)
            let line = text.split(separator: "\n").first { $0.hasPrefix("timeout ") }
            #expect(line?.count == "timeout f".count + 16)
        }
    }
}
