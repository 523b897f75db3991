import ArgumentParser
import ShoalCore

/// A job id given on the command line (`jobs show|output|logs|cancel|pause|resume`),
/// checked where it enters, with one message that says where ids come from.
enum JobIDArgument {
    static func check(_ id: String) throws {
        guard JobID.isValid(id) else { throw ValidationError("'\(id)' is not a job id; see `shoal jobs list`") }
    }
}
