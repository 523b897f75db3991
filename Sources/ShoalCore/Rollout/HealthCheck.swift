extension JobTask {
    /// This task, then `check` (run by `/bin/sh -c`) if the task succeeded, as one shell
    /// script: a node's result is the task's when it fails, else the check's, and both
    /// outputs are kept. Built by the dispatcher from `SubmitJobRequest.health`, so agents
    /// run it like any other job (nothing to change on the node).
    public func followed(byHealthCheck check: String) -> JobTask {
        let command = argv.map(Self.shellQuoted).joined(separator: " ")
        return .shell("""
            \(command) || exit $?
            /bin/sh -c \(Self.shellQuoted(check)) || { status=$?; echo "shoal: health check failed (exit $status)" >&2; exit $status; }
            """)
    }

    /// `text` as one shell word, whatever it holds.
    static func shellQuoted(_ text: String) -> String {
        var quoted = "'"
        for character in text {
            if character == "'" { quoted += #"'\''"# } else { quoted.append(character) }
        }
        return quoted + "'"
    }
}
