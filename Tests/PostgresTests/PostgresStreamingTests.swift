import Foundation
import NexMirrorTestSupport
import Testing

/// `query` on PostgreSQL writes rows as they arrive, so a write must be refused before its first
/// row reaches standard output. PostgreSQL refuses DML, data-modifying CTEs and row locks when
/// the statement starts, and a writing function (nextval) at its first call: on a long result
/// that is before anything was flushed, so nothing is written, as on SQLite (which refuses them
/// all before running). Memory and the output left by other errors: Tests/ContractTests.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresStreamingTests {
    @Test func aWriteInsideALongResultIsRefusedWithNothingWritten() async throws {
        let url = try PostgresCluster.makeDatabase()
        let migrated = try await CLI.run(["import", "--db", url, "/dev/null"])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        _ = try PostgresCluster.psql(url, "CREATE SEQUENCE tickets")
        let long = "generate_series(1, 100000) g"
        let refusals = [
            ("SELECT g, repeat('x', 1000), nextval('tickets') FROM \(long)", "SELECT"),
            ("WITH w AS (UPDATE log_head SET last_seq = last_seq RETURNING 1) SELECT g, repeat('x', 1000) FROM \(long), w",
             "WITH"),
            ("SELECT g, repeat('x', 1000) FROM \(long), log_head FOR UPDATE", "SELECT"),
        ]
        for (sql, keyword) in refusals {
            let result = try await CLI.run(["query", "--db", url, "--format", "csv", sql])
            #expect(result.status == 1, "\(sql)")
            #expect(result.stderr == "Error: refused: \(keyword) would write to the database; query is read-only\n", "\(sql)")
            #expect(result.stdout.isEmpty, "\(sql): \(result.stdout.count) bytes written")
        }
        #expect(try PostgresCluster.psql(url, "SELECT is_called FROM tickets") == "f")
    }
}
