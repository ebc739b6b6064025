import NexMirrorCore
import NexMirrorStore
import PostgresNIO

/// `export`'s reads on PostgreSQL (`ReportSource` decides the rest): rows stream from one
/// read-only transaction and are never collected.
extension PostgresReader: ReportSource {
    public var reportDialect: SQLDialect { .postgreSQL }

    public func forEachReportRow(
        _ sql: String, _ parameters: [String: SQLValue], _ body: ([Cell]) throws -> Void
    ) async throws {
        try await readOnly(sql, parameters) { row in try body(row.map(Self.cell)) }
    }

    public func streamReport(
        _ sql: String, _ parameters: [String: SQLValue], columns: [String], into writer: inout some RowWriter
    ) async throws {
        let query = Self.reportQuery(sql, parameters)
        try await inReadOnlyTransaction { connection in
            try await stream(query, wrapping: true, header: columns, on: connection, into: &writer)
        }
        try writer.end()
    }

    /// Streams the rows of one report query, its `:name` parameters bound, from a read-only
    /// transaction.
    func readOnly(_ sql: String, _ parameters: [String: SQLValue], _ body: (PostgresRow) throws -> Void) async throws {
        let query = Self.reportQuery(sql, parameters)
        try await inReadOnlyTransaction { connection in
            for try await row in try await connection.query(query, logger: store.logger) { try body(row) }
        }
    }

    /// A report query with its `:name` parameters numbered and bound.
    static func reportQuery(_ sql: String, _ parameters: [String: SQLValue]) -> PostgresQuery {
        let (text, written) = numberParameters(sql)
        var binds = PostgresBindings()
        var bound: Set<String> = []
        // Numbered in order of first use; a repeated name reuses its number.
        for name in written.compactMap({ $0?.dropFirst() }).map(String.init) where bound.insert(name).inserted {
            binds.bind(parameters[name] ?? .null)
        }
        return PostgresQuery(unsafeSQL: text, binds: binds)
    }
}
