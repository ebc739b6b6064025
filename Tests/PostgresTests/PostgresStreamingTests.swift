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

    /// Rows come as one record each (`SELECT ROW(q.*) FROM (…) q`) when the statement can be a
    /// subquery, else cell by cell. A comment after a semicolon makes it one that cannot, so each
    /// value type here is printed both ways, and both must print the same. Types without a reading of
    /// their own come from a record as PostgreSQL's text for them.
    @Test func recordsAndCellsPrintTheSame() async throws {
        let url = try PostgresCluster.makeDatabase()
        let migrated = try await CLI.run(["import", "--db", url, "/dev/null"])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        let values = """
            SELECT 1::int2 AS i2, 2::int4 AS i4, 9007199254740993::int8 AS i8, true AS t, false AS f,
              2516.14::numeric AS amount, 0.1::numeric(30,25) AS exact, 1.5::float8 AS real, 0.25::float4 AS single, 'a,"b"'::text AS quoted,
              'v'::varchar AS v, 'c'::char(3) AS c, '{"k": [1, "x"]}'::jsonb AS jb, '{"k":1}'::json AS j,
              '\\x00ff'::bytea AS bytes, NULL::text AS nothing, NULL::int8 AS no_number, '' AS empty, g
            FROM generate_series(1, 3) g ORDER BY g
            """
        for format in ["csv", "tsv", "json", "table"] {
            let records = try await CLI.run(["query", "--db", url, "--format", format, values])
            let cells = try await CLI.run(["query", "--db", url, "--format", format, values + "; -- cell by cell"])
            #expect(records.status == 0 && cells.status == 0, "\(records.stderr) \(cells.stderr)")
            #expect(records.stdout == cells.stdout, "--format \(format)")
        }
        let csv = try await CLI.run(["query", "--db", url, "--format", "csv", values])
        #expect(csv.output.components(separatedBy: "\r\n")[1] == #"1,2,9007199254740993,1,0,2516.14,0.1,1.5,0.25,"a,""b""",v,c  ,"{""k"": [1, ""x""]}","{""k"":1}",\x00ff,,,,1"#)
        let typed = try await CLI.run(["query", "--db", url, "--format", "csv", """
            SELECT '00000000-0000-0000-0000-000000000001'::uuid AS u, '2026-12-06'::date AS d,
              '2026-12-06 10:30:00.25'::timestamp AS ts, '1 day 02:00'::interval AS i, ARRAY[1, 2] AS a,
              '10.0.0.1'::inet AS ip, NULL::date AS none;
            """])
        #expect(typed.output == "u,d,ts,i,a,ip,none\r\n00000000-0000-0000-0000-000000000001,2026-12-06,2026-12-06 10:30:00.25,1 day 02:00:00,\"{1,2}\",10.0.0.1,\r\n")

        // Other shapes of statement, wrapped or run as written; names come from the statement.
        let others: [(String, String)] = [
            ("SELECT 1 AS a, 2 AS a", "a,a\r\n1,2\r\n"),
            ("VALUES (1, 'x'), (2, NULL)", "column1,column2\r\n1,x\r\n2,\r\n"),
            ("TABLE log_head", "id,last_seq\r\n1,0\r\n"),
            ("SELECT FROM log_head", "\r\n\r\n"),
            ("SHOW client_encoding", "client_encoding\r\nUTF8\r\n"),
            ("SELECT 7 AS n -- a comment to the end;", "n\r\n7\r\n"),
        ]
        for (sql, output) in others {
            let result = try await CLI.run(["query", "--db", url, "--format", "csv", sql])
            #expect(result.status == 0, "\(sql): \(result.stderr)")
            #expect(result.output == output, "\(sql)")
        }
    }
}
