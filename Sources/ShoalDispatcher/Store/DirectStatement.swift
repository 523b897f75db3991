import GRDB
import ShoalEngine
import GRDBSQLite

/// A cached statement whose arguments are bound straight to SQLite, for the rows written
/// by the ten thousand (a job's executions). GRDB's `StatementArguments` box every value
/// in an existential; at 10,000 rows a job that cost more than SQLite's own work
/// (bench/README.md). Everything else uses GRDB's API.
///
/// Use inside a GRDB write, on the writer's queue, like the `Database` it comes from.
struct DirectStatement {
    private let statement: Statement

    init(_ db: Database, sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
    }

    /// Binds the parameters in order, runs the statement to completion and resets it.
    func execute(_ bind: (inout Bindings) -> Void) throws {
        let handle = statement.sqliteStatement
        var bindings = Bindings(handle: handle)
        bind(&bindings)
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))),
                                sql: statement.sql)
        }
    }

    /// The next parameter's value; nil binds NULL.
    struct Bindings {
        let handle: SQLiteStatement
        private var index: Int32 = 1

        init(handle: SQLiteStatement) {
            self.handle = handle
        }

        mutating func text(_ value: String?) {
            defer { index += 1 }
            guard var value else {
                sqlite3_bind_null(handle, index)
                return
            }
            _ = value.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) { text in
                    // An empty buffer may have no address, which SQLite would take for NULL.
                    sqlite3_bind_text(handle, index, text.baseAddress ?? Self.emptyText, Int32(text.count), Self.transient)
                }
            }
        }

        mutating func blob(_ value: [UInt8]) {
            defer { index += 1 }
            _ = value.withUnsafeBytes { bytes in
                sqlite3_bind_blob(handle, index, bytes.baseAddress ?? UnsafeRawPointer(Self.emptyText), Int32(bytes.count),
                                  Self.transient)
            }
        }

        mutating func integer(_ value: Int64?) {
            defer { index += 1 }
            if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
        }

        mutating func double(_ value: Double?) {
            defer { index += 1 }
            if let value { sqlite3_bind_double(handle, index, value) } else { sqlite3_bind_null(handle, index) }
        }

        /// SQLITE_TRANSIENT: SQLite copies the bytes before the call returns.
        private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        private static var emptyText: UnsafePointer<CChar> {
            let empty: StaticString = ""
            return UnsafeRawPointer(empty.utf8Start).assumingMemoryBound(to: CChar.self)
        }
    }
}

extension DirectStatement.Bindings {
    /// An execution's columns in table order: job, node, state, exitCode, reason,
    /// startedAt, finishedAt, updatedAt.
    mutating func execution(_ execution: ExecutionRecord) {
        text(execution.job)
        text(execution.node)
        text(execution.state.rawValue)
        integer(execution.exitCode.map(Int64.init))
        text(execution.reason)
        double(execution.startedAt)
        double(execution.finishedAt)
        double(execution.updatedAt)
    }
}
