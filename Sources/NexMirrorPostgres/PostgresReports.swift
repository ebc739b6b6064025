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
        try writer.begin(columns: columns)
        var lender = PostgresRowLender()
        try await readOnly(sql, parameters) { row in
            try lender.lend(row) { try writer.write(raw: $0) }
        }
        try writer.end()
    }

    /// Streams the rows of one report query, its `:name` parameters bound, from a read-only
    /// transaction.
    func readOnly(_ sql: String, _ parameters: [String: SQLValue], _ body: (PostgresRow) throws -> Void) async throws {
        let (text, written) = Self.numberParameters(sql)
        var binds = PostgresBindings()
        var bound: Set<String> = []
        // Numbered in order of first use; a repeated name reuses its number.
        for name in written.compactMap({ $0?.dropFirst() }).map(String.init) where bound.insert(name).inserted {
            binds.bind(parameters[name] ?? .null)
        }
        let query = PostgresQuery(unsafeSQL: text, binds: binds)
        try await withReadConnection { connection in
            try await connection.query("BEGIN TRANSACTION READ ONLY", logger: store.logger)
            do {
                for try await row in try await connection.query(query, logger: store.logger) {
                    try body(row)
                }
                try await connection.query("ROLLBACK", logger: store.logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: store.logger)
                throw error
            }
        }
    }
}
