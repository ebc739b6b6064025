import GRDB
import GRDBSQLite

/// Streams a result set in one format: `begin` once, `write` per row, `end` once.
public protocol RowWriter {
    mutating func begin(columns: [String]) throws
    mutating func write(_ row: [Cell]) throws
    mutating func end() throws
    /// Writes every row of a statement's result; rows are never collected, so memory stays flat.
    mutating func write(_ statement: Statement, arguments: StatementArguments) throws
}

extension RowWriter {
    public mutating func write(_ statement: Statement, arguments: StatementArguments) throws {
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        try begin(columns: statement.columnNames)
        while let row = try cursor.next() { try write(Cell.row(row)) }
        try end()
    }
}

extension Statement {
    /// Runs the statement and hands each result row to `body` as SQLite's own statement handle,
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
