import Foundation
import GRDB
import GRDBSQLite
import NexMirrorStore

extension Cell {
    public init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let integer): self = .integer(integer)
        case .double(let real): self = .real(real)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .blob(data)
        }
    }

    public static func row(_ row: Row) -> [Cell] {
        (0..<row.count).map { Cell(row[$0] as DatabaseValue) }
    }
}

/// A row of a stepping statement: column text is lent straight from SQLite, since a `Cell` and
/// a `String` per value cost more than the query itself on long CSV exports.
struct SQLiteRow: ResultRow {
    let statement: SQLiteStatement
    let columnCount: Int

    func raw(at column: Int) -> RawCell {
        let index = Int32(column)
        switch sqlite3_column_type(statement, index) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_TEXT:
            return .text(UnsafeBufferPointer(
                start: sqlite3_column_text(statement, index), count: Int(sqlite3_column_bytes(statement, index))))
        default: return .other(Cell(DatabaseValue(sqliteStatement: statement, index: index)))
        }
    }
}

extension RowWriter {
    /// Writes every row of a statement's result; rows are never collected, so memory stays flat.
    public mutating func write(_ statement: Statement, arguments: StatementArguments) throws {
        try begin(columns: statement.columnNames)
        let columns = statement.columnCount
        try statement.forEachRawRow(arguments: arguments) { row in
            try write(raw: SQLiteRow(statement: row, columnCount: columns))
        }
        try end()
    }
}

extension Statement {
    /// Steps the statement with SQLite's C API, handing each row's raw statement to `body`,
    /// for readers that copy column bytes without building GRDB rows.
    func forEachRawRow(arguments: StatementArguments, _ body: (SQLiteStatement) throws -> Void) throws {
        try setArguments(arguments)
        defer { _ = sqlite3_reset(sqliteStatement) }
        while true {
            switch sqlite3_step(sqliteStatement) {
            case SQLITE_ROW: try body(sqliteStatement)
            case SQLITE_DONE: return
            case let code:
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(sqliteStatement))),
                    sql: sql, arguments: arguments)
            }
        }
    }
}
