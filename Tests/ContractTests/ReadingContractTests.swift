import Foundation
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// `import`, `query`, `events`, `status` and `history` on both backends: the same output for the
/// same log (SPEC §6), and the same refusals.
@Suite struct ReadingContractTests {
    @Test(arguments: Backend.all)
    func importAppendsEachDeliveryOnce(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        let lines = ContractLogs.fixtures()
        let first = try await database.importLines(lines)
        #expect(first.output.contains("\(lines.count) appended"), "\(first.output)")
        try await database.importLines(lines)
        #expect(try await database.rows("SELECT count(*), max(seq) FROM events") == [["\(lines.count)", "\(lines.count)"]])
        #expect(try await database.value("SELECT count(*) FROM events WHERE source = 'import'") == "\(lines.count)")
    }

    /// Writes, transaction control and scripts are refused before anything runs, with the same
    /// line and exit status on both; the database's own errors are one line too.
    @Test(arguments: Backend.all)
    func queryRefusesWritesAndScriptsInOneLine(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        try await database.importLines(ContractLogs.fixtures())
        let refusals = [
            ("DELETE FROM events", "refused: DELETE would write to the database; query is read-only"),
            ("UPDATE coworkers SET email = 'x'", "refused: UPDATE would write to the database; query is read-only"),
            ("INSERT INTO tombstones SELECT * FROM tombstones", "refused: INSERT would write to the database; query is read-only"),
            ("DROP TABLE coworkers", "refused: DROP would write to the database; query is read-only"),
            ("CREATE TABLE t (x integer)", "refused: CREATE would write to the database; query is read-only"),
            ("WITH doomed AS (SELECT seq FROM events) DELETE FROM events WHERE seq IN (SELECT seq FROM doomed)",
             "refused: WITH would write to the database; query is read-only"),
            ("/* sneaky */ -- comment\n delete from events", "refused: DELETE would write to the database; query is read-only"),
            ("BEGIN", "refused: BEGIN is not allowed; query runs each statement in its own read transaction"),
            ("COMMIT", "refused: COMMIT is not allowed; query runs each statement in its own read transaction"),
            ("SET search_path = elsewhere", "refused: SET is not allowed; query runs each statement in its own read transaction"),
            ("ATTACH 'x.sqlite' AS x", "refused: ATTACH is not allowed; query reads this database only"),
            ("PRAGMA user_version = 3", "refused: PRAGMA … = … changes a setting; query is read-only"),
            ("SELECT 1; SELECT 2", "query runs one statement at a time; this SQL holds 2 (run each separately)"),
            ("  -- nothing\n", "no SQL statement given"),
        ]
        for (sql, message) in refusals {
            let result = try await database.run(["query", sql])
            #expect(result.status == 1, "\(sql)")
            #expect(result.stderr == "Error: \(message)\n", "\(sql)")
            #expect(result.stdout.isEmpty, "\(sql)")
        }
        for sql in ["SELECT nope FROM events", "SELEC 1"] {
            let result = try await database.run(["query", sql])
            #expect(result.status == 1, "\(sql)")
            #expect(result.stderr.hasPrefix("Error: SQL error: "), "\(sql): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(sql): \(result.stderr)")
        }
        #expect(try await database.value("SELECT count(*) FROM events") == "\(NexudusFixtures.names.count)")
        #expect(try await database.value("SELECT count(*) FROM coworkers") != "0")
    }

    /// Every column of every replica table and of the log (but each receiver's `received_at`),
    /// with and without the deletes, and named parameters, print the same on both: timestamps
    /// with 7 digits, booleans 0/1, exact amounts, whatever the column types.
    @Test(arguments: Backend.all)
    func queryPrintsTheSameValuesOnBothBackends(backend: Backend) async throws {
        let withDeletes = try backend.makeDatabase()
        try await withDeletes.importLines(ContractLogs.fixtures() + ContractLogs.generated())
        let database = try backend.makeDatabase()
        try await database.importLines(ContractLogs.fixtures(withoutDeletes: true))
        for (log, mirror) in [("with deletes", withDeletes), ("without deletes", database)] {
            for table in ContractDatabase.replicaTables {
                let key = ["entities", "tombstones"].contains(table) ? "entity_type, id"
                    : ["team_members"].contains(table) ? "team_id, coworker_id"
                    : table == "invoice_events" ? "seq" : "id"
                let result = try await mirror.run(["query", "--format", "csv", "SELECT * FROM \(table) ORDER BY \(key)"])
                #expect(result.status == 0, "\(table): \(result.stderr)")
                CrossBackend.expectSame("query \(table) \(log)", result.stdout, on: backend)
            }
            let events = try await mirror.run(["query", "--format", "csv", """
                SELECT seq, action, action_id, entity_type, entity_id, updated_on, body, body_sha256, source, signature,
                       status, error
                FROM events ORDER BY seq
                """])
            #expect(events.status == 0, "\(events.stderr)")
            CrossBackend.expectSame("query events \(log)", events.stdout, on: backend)
        }
        #expect(try await withDeletes.value("SELECT count(*) FROM tombstones") != "0")
        let members = try await database.run(["query", "--format", "csv", "SELECT count(*) AS n FROM members"])
        // Three members once the deletes are left out (the fixtures delete one).
        #expect(members.output == "n\r\n3\r\n", "\(members.stderr)")
        let twice = "SELECT count(*) AS n FROM coworkers WHERE id >= :low AND id + 0 >= :low"
        let bound = try await database.run(["query", "--format", "csv", "--param", "low=1", twice])
        #expect(bound.status == 0, "\(bound.stderr)")
        CrossBackend.expectSame("query --param", bound.stdout, on: backend)
        for format in ["table", "json", "jsonl", "markdown", "tsv"] {
            let result = try await database.run(
                ["query", "--format", format, "SELECT id, full_name, active, updated_on FROM coworkers ORDER BY id"])
            #expect(result.status == 0, "\(format): \(result.stderr)")
            CrossBackend.expectSame("query --format \(format)", result.stdout, on: backend)
            // An empty result still names its columns, the same way on both backends.
            let empty = try await database.run(
                ["query", "--format", format, "SELECT id, full_name, active, updated_on FROM coworkers WHERE id < 0"])
            #expect(empty.status == 0, "\(format): \(empty.stderr)")
            CrossBackend.expectSame("empty query --format \(format)", empty.stdout, on: backend)
        }
        let empty = try await database.run(["query", "--format", "csv", "SELECT id, full_name FROM coworkers WHERE id < 0"])
        #expect(empty.output == "id,full_name\r\n")
        let noEvents = try await database.run(["events", "--action", "TeamDeleted", "--format", "csv"])
        #expect(noEvents.output.hasPrefix("seq,received_at,action"), "\(noEvents.output)")
    }

    /// `events` lists the log as on the other backend (each receiver's `received_at` aside) and
    /// `events show` prints the body as received.
    @Test(arguments: Backend.all)
    func eventsListsAndShowsTheLog(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        try await database.importLines(ContractLogs.fixtures() + ContractLogs.generated())
        let total = NexudusFixtures.names.count + ContractLogs.generatedGenes.count
        let filters: [[String]] = [
            ["--limit", "0"], [], ["--action", "CoworkerUpdate"], ["--entity", "Coworker:1419000582"],
            ["--entity", "invoices:1419044866", "--limit", "3"], ["--quarantined"], ["--since", "2000-01-01"],
        ]
        for filter in filters {
            let result = try await database.run(["events", "--format", "csv"] + filter)
            #expect(result.status == 0, "\(filter): \(result.stderr)")
            CrossBackend.expectSame("events \(filter)", csvWithout(columns: [1], result.output), on: backend)
        }
        let all = try await database.run(["events", "--format", "csv", "--limit", "0"])
        let lines = all.output.split(separator: "\r\n")
        #expect(lines.count == total + 1)
        #expect(lines.first == "seq,received_at,action,entity_type,entity_id,updated_on,status,error,source,bytes")
        let updates = try await database.run(["events", "--format", "csv", "--action", "CoworkerUpdate"])
        #expect(updates.output.split(separator: "\r\n").dropFirst().allSatisfy { $0.contains(",CoworkerUpdate,Coworker,") })
        for seq in [1, NexudusFixtures.names.count] {
            let shown = try await database.run(["events", "show", "\(seq)"])
            #expect(shown.status == 0, "\(shown.stderr)")
            #expect(shown.stdout == Data(NexudusFixtures.body(NexudusFixtures.names[seq - 1])))
        }
        let missing = try await database.run(["events", "show", "\(total + 1)"])
        #expect(missing.status != 0)
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        CrossBackend.expectSame("events show missing", missing.stderr, on: backend)
    }

    /// `status --format json`, `status --check`, the text form, the receiver's `/api/status`,
    /// dashboard and metrics, and `history`: the same on both backends for the same deliveries.
    /// Fields that differ by nature are left out: `database` (a path or a PostgreSQL location),
    /// `generated_at`, `log.file_bytes` (the file or `pg_database_size`), `log.wal_bytes` (0 on
    /// PostgreSQL, whose WAL is the cluster's), and every time a receiver stamped.
    @Test(arguments: Backend.all)
    func statusAndHistoryReportTheSameOnBothBackends(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        let server = try await database.serve()
        for name in NexudusFixtures.names { #expect(try await HTTP.deliver(name, to: server).status == 200) }
        // One wrong signature: a rejection, its problem line and the wrong-secret hint.
        let refused = try await HTTP.post(
            "\(server.baseURL)/webhooks/CoworkerCreate", body: NexudusFixtures.body("CoworkerCreate"),
            headers: [("X-Nexudus-Hook-Signature", String(repeating: "A", count: 64))])
        #expect(refused.status == 401)
        try await database.waitUntilFolded()
        #expect(try await eventually(within: 30) { try await database.value("SELECT count(*) FROM rejections") == "1" })

        let api = try await HTTP.get("\(server.baseURL)/api/status")
        #expect(api.status == 200, "\(api.body)")
        #expect((api.json["log"] as? [String: Any])?["deliveries"] as? Int == NexudusFixtures.names.count)
        let page = try await HTTP.get("\(server.baseURL)/")
        #expect(page.status == 200)
        #expect(page.body.contains("CoworkerCreate"))
        let metrics = try await HTTP.get("\(server.baseURL)/metrics")
        #expect(metrics.body.contains("nexmirror_action_last_delivery_timestamp_seconds{action=\"CoworkerCreate\"}"))
        await server.stop()

        let json = try await database.run(["status", "--format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        let comparable = try JSONSerialization.data(withJSONObject: Self.comparable(report), options: [.sortedKeys, .prettyPrinted])
        CrossBackend.expectSame("status --format json", comparable, on: backend)
        #expect((report["log"] as? [String: Any])?["deliveries"] as? Int == NexudusFixtures.names.count)
        #expect((report["log"] as? [String: Any])?["file_bytes"] as? Int ?? 0 > 0)
        #expect((report["rejections"] as? [String: Any])?["total"] as? Int == 1)
        #expect(report["hint"] as? String != nil)
        #expect(Set(((report["tables"] as? [String: Any]) ?? [:]).keys).isSuperset(of: ["coworkers", "members", "tombstones"]))

        let check = try await database.run(["status", "--check"])
        #expect(check.status == 3, "\(check.stderr)")
        #expect(check.output.hasPrefix("rejected: 1 signature rejection in the last 24 h"), "\(check.output)")
        CrossBackend.expectSame(
            "status --check", check.output.split(separator: "\n").map { $0.prefix { $0 != ";" } }.joined(separator: "\n"),
            on: backend)

        let text = try await database.run(["status"])
        #expect(text.status == 0, "\(text.stderr)")
        let count = NexudusFixtures.names.count
        #expect(text.output.contains("event log    \(count) deliveries, last seq \(count), 0 quarantined"), "\(text.output)")
        let tables = text.output.split(separator: "\n", omittingEmptySubsequences: false)
            .drop { !$0.hasPrefix("table") }.prefix { !$0.isEmpty }.joined(separator: "\n")
        #expect(!tables.isEmpty, "\(text.output)")
        CrossBackend.expectSame("status tables", tables, on: backend)

        for arguments in [["history", "coworkers", "1419000582"], ["history", "Booking", "1419005644"], ["history", "CoworkerInvoice", "1419044866"]] {
            let history = try await database.run(arguments + ["--format", "csv"])
            #expect(history.status == 0, "\(arguments): \(history.stderr)")
            #expect(history.output.split(separator: "\r\n").count > 1, "\(arguments): \(history.output)")
            CrossBackend.expectSame("\(arguments)", csvWithout(columns: [1], history.output), on: backend)
        }
        let missing = try await database.run(["history", "coworkers", "999999999"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no delivery of Coworker 999999999 in the log"), "\(missing.stderr)")
    }

    /// What must agree between backends in `status --format json`: everything but the fields
    /// that differ by nature.
    static func comparable(_ report: [String: Any]) -> [String: Any] {
        let log = report["log"] as? [String: Any] ?? [:]
        let rejections = report["rejections"] as? [String: Any] ?? [:]
        let hourly = report["hourly"] as? [[String: Any]] ?? []
        return [
            "log": ["deliveries": log["deliveries"] ?? 0, "last_seq": log["last_seq"] ?? 0, "quarantined": log["quarantined"] ?? 0,
                    "last_action": log["last_action"] ?? NSNull()],
            "tables": report["tables"] ?? [:],
            "actions": (report["actions"] as? [[String: Any]] ?? []).map { $0.filter { $0.key != "last_received_at" } },
            "projections": (report["projections"] as? [[String: Any]] ?? []).map {
                $0.filter { ["name", "version", "checkpoint", "lag"].contains($0.key) }
            },
            "rejections": rejections.filter { ["total", "kept", "last24h", "since_last_verified"].contains($0.key) },
            "hourly_total": hourly.reduce(0) { $0 + ($1["deliveries"] as? Int ?? 0) },
            "hourly_count": hourly.count,
            "silent": report["silent"] ?? [],
            "sync": report["sync"] ?? [],
            "problems": (report["problems"] as? [String] ?? []).map { String($0.prefix { $0 != ";" }) },
            "hint": report["hint"] == nil ? "none" : "some",
        ]
    }

    /// A database no delivery reached yet: no problems, and every report is its header alone.
    @Test(arguments: Backend.all)
    func aFreshDatabaseHasNoProblemsAndEmptyReports(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        await (try await database.serve()).stop()
        let check = try await database.run(["status", "--check"])
        #expect(check.status == 0, "\(check.stderr)\(check.output)")
        #expect(check.output.isEmpty)
        let text = try await database.run(["status"])
        #expect(text.output.contains("no delivery received yet"), "\(text.output)")
        let members = try await database.run(["export", "members"])
        #expect(members.status == 0, "\(members.stderr)")
        #expect(members.output == "id,full_name,email,company_name,coworker_type,tariff_id,tariff_name,business_id,created_on,updated_on\r\n")
        for report in ExportContractTests.reports {
            let result = try await database.run(["export", report])
            #expect(result.status == 0, "\(report): \(result.stderr)")
            CrossBackend.expectSame("empty export \(report)", result.stdout, on: backend)
        }
    }
}
