import GRDB
import GRDBSQLite
import NexMirrorCore

/// Values bound straight to a prepared statement's parameters, in order. The fold runs several
/// statements per delivery; building GRDB's `StatementArguments` (an array of `DatabaseValue`
/// per call) cost more there than SQLite's own work.
struct Bindings {
    fileprivate let statement: SQLiteStatement
    fileprivate var index: Int32 = 1

    mutating func bind(_ value: Int64) {
        sqlite3_bind_int64(statement, index, value)
        index += 1
    }

    mutating func bind(_ value: Int64?) {
        guard let value else { return bindNull() }
        bind(value)
    }

    mutating func bind(_ value: String?) {
        guard var value else { return bindNull() }
        value.withUTF8 { bind(text: $0) }
    }

    /// Copied by SQLite (SQLITE_TRANSIENT), so `text` need not outlive the call.
    mutating func bind(text: UnsafeBufferPointer<UInt8>) {
        let start = UnsafeRawPointer(text.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
        sqlite3_bind_text(statement, index, start, Int32(text.count), transient)
        index += 1
    }

    mutating func bind(_ value: SQLValue) {
        switch value {
        case .null: bindNull()
        case .integer(let integer): bind(integer)
        case .real(let real):
            sqlite3_bind_double(statement, index, real)
            index += 1
        case .text(let text): bind(text)
        }
    }

    mutating func bindNull() {
        sqlite3_bind_null(statement, index)
        index += 1
    }
}

private let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

extension Database {
    /// Runs a cached statement with the values `bind` gives.
    func run(_ sql: String, _ bind: (inout Bindings) -> Void) throws {
        _ = try fetchFirst(sql, bind) { _ in () }
    }

    /// Runs a cached statement with the values `bind` gives, and returns what `read` makes of
    /// its first row (nil when there is none).
    func fetchFirst<T>(_ sql: String, _ bind: (inout Bindings) -> Void, read: (SQLiteStatement) -> T) throws -> T? {
        let statement = try cachedStatement(sql: sql).sqliteStatement
        _ = sqlite3_reset(statement)
        var bindings = Bindings(statement: statement)
        bind(&bindings)
        defer {
            _ = sqlite3_reset(statement)
            _ = sqlite3_clear_bindings(statement)
        }
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return read(statement)
        case SQLITE_DONE: return nil
        case let code:
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(statement))),
                sql: sql)
        }
    }
}

/// Column `index` of the current row as text, or nil for NULL.
func columnText(_ statement: SQLiteStatement, _ index: Int32) -> String? {
    guard let text = sqlite3_column_text(statement, index) else { return nil }
    return String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, index))), as: UTF8.self)
}
