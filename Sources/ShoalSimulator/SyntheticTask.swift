import ShoalCore

/// What a simulated node does instead of running a job's command: no process, only an
/// outcome after a delay.
///
/// | task (exec argv, or a one-command shell script) | outcome |
/// |---|---|
/// | `sleep X` (seconds, or `500ms`, `2m`, …) | succeeds after X |
/// | `true` / `false` | exit 0 / exit 1, at once |
/// | `exit N` (shell) | exit N (mod 256), at once |
/// | `echo args…` (`-n`: no newline) | stdout `args joined by spaces` + newline, at once |
/// | anything else | succeeds with no output after the simulator's `--task-time` |
///
/// `sh -c SCRIPT` and `bash -c SCRIPT` argv are read as shell scripts; a script with more than
/// one command (`;`, `&&`, `|`, a newline, …) counts as "anything else".
public struct SyntheticTask: Sendable, Equatable {
    /// Seconds from start to exit.
    public var duration: Double
    public var exitCode: Int32
    public var stdout: String
    public var stderr: String

    public init(duration: Double = 0, exitCode: Int32 = 0, stdout: String = "", stderr: String = "") {
        self.duration = duration
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
    }

    public static func interpret(_ task: JobTask, taskTime: Double) -> SyntheticTask {
        switch task {
        case .exec(let argv):
            let program = argv.first.map { String($0.split(separator: "/").last ?? Substring($0)) } ?? ""
            if ["sh", "bash", "dash"].contains(program), argv.count >= 3, argv[1] == "-c" {
                return interpret(script: argv[2], taskTime: taskTime)
            }
            return interpret(command: [program] + argv.dropFirst(), taskTime: taskTime)
        case .shell(let script):
            return interpret(script: script, taskTime: taskTime)
        }
    }

    private static func interpret(script: String, taskTime: Double) -> SyntheticTask {
        let separators: Set<Character> = [";", "&", "|", "\n", "`", "$", "(", ")", "<", ">"]
        guard !script.contains(where: { separators.contains($0) }), let words = words(script), !words.isEmpty else {
            return SyntheticTask(duration: taskTime)
        }
        if words[0] == "exit" {
            guard words.count <= 2 else { return SyntheticTask(duration: taskTime) }
            let code = words.count == 2 ? Int(words[1]).map { Int32(truncatingIfNeeded: $0 & 0xff) } : 0
            return code.map { SyntheticTask(exitCode: $0) }
                ?? SyntheticTask(exitCode: 2, stderr: "sh: exit: Illegal number: \(words[1])\n")
        }
        return interpret(command: words, taskTime: taskTime)
    }

    private static func interpret(command words: [String], taskTime: Double) -> SyntheticTask {
        switch words.first {
        case "sleep":
            guard words.count == 2, let seconds = DurationText.seconds(words[1]) else {
                return SyntheticTask(exitCode: 1, stderr: "sleep: invalid time interval\n")
            }
            return SyntheticTask(duration: seconds)
        case "true":
            return SyntheticTask()
        case "false":
            return SyntheticTask(exitCode: 1)
        case "echo":
            var arguments = words.dropFirst()
            let newline = arguments.first != "-n"
            if !newline { arguments = arguments.dropFirst() }
            return SyntheticTask(stdout: arguments.joined(separator: " ") + (newline ? "\n" : ""))
        default:
            return SyntheticTask(duration: taskTime)
        }
    }

    /// Splits a simple shell command into words, honouring single and double quotes; nil if
    /// a quote is left open.
    private static func words(_ script: String) -> [String]? {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        for character in script {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "'" || character == "\"" {
                quote = character
                inWord = true
            } else if character.isWhitespace {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        guard quote == nil else { return nil }
        if inWord { words.append(current) }
        return words
    }
}
