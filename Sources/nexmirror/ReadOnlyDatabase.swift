import Foundation
import GRDB
import NexMirrorSQLite
import NexMirrorStore

/// The read-only connection behind `query`, `export`, `events` and `status`: SQLite itself
/// refuses writes on it, and every failure reaches the user as one line.
enum ReadOnlyDatabase {
    static func open(_ options: DatabaseOptions) throws -> DatabaseQueue {
        let path = options.path
        do {
            return try SQLiteStore.openReadOnly(path: path)
        } catch let error as StoreError {
            throw CLIError(error.description)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw CLIError("\(path) is not a nexmirror database (not an SQLite file)")
        } catch let error as DatabaseError {
            throw CLIError("cannot open \(path): \(oneLine(error))")
        }
    }

    /// Runs `body` in a read transaction, turning SQLite errors into one-line CLI errors.
    static func read<T>(_ queue: DatabaseQueue, _ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.read(body)
        } catch let error as DatabaseError {
            throw CLIError("SQL error: \(oneLine(error))")
        }
    }

    /// SQLite's message without GRDB's echo of the (possibly multi-line) SQL.
    static func oneLine(_ error: DatabaseError) -> String {
        let message = error.message ?? "SQLite error \(error.resultCode.rawValue)"
        return message.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
