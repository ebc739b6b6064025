import GRDB
import NexMirrorCore
import NexMirrorStore

/// `export`'s reads on the read-only connection (`ReportSource` decides the rest).
extension SQLiteReader: ReportSource {
    public var reportDialect: SQLDialect { .sqlite }

    public func forEachReportRow(
        _ sql: String, _ parameters: [String: SQLValue], _ body: ([Cell]) throws -> Void
    ) async throws {
        try read { db in
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: Self.arguments(parameters))
            while let row = try cursor.next() { try body(Cell.row(row)) }
        }
    }

    public func streamReport(
        _ sql: String, _ parameters: [String: SQLValue], columns: [String], into writer: inout some RowWriter
    ) async throws {
        try read { db in
            let statement = try db.makeStatement(sql: sql)
            try writer.begin(columns: columns)
            let count = statement.columnCount
            try statement.forEachRawRow(arguments: Self.arguments(parameters)) { row in
                try writer.write(raw: SQLiteRow(statement: row, columnCount: count))
            }
            try writer.end()
        }
    }

    private static func arguments(_ parameters: [String: SQLValue]) -> StatementArguments {
        StatementArguments(parameters.mapValues { $0.databaseValue as (any DatabaseValueConvertible)? })
    }
}
