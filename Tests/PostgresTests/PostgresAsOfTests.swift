import Foundation
import Logging
import NexMirrorCore
import NexMirrorPostgres
import NexMirrorSQLite
import NexMirrorProjections
import NexMirrorStore
import NexMirrorTestSupport
import NexudusFixtures
import Synchronization
import Testing

/// `query --as-of T` and `export --as-of T` on `--db postgresql://…`: the same answers as on
/// SQLite for the same log, nothing written to the live database, and `serve` never held up.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresAsOfTests {
    static let replicaTables = Projections.replicaTables

    /// Every replica table in full (its first two columns are a key), the `members` and `events`
    /// views, and the projections' checkpoints.
    static let queries = replicaTables.map { "SELECT * FROM \($0) ORDER BY 1, 2" } + [
        "SELECT count(*) AS n, min(id) AS first, max(id) AS last FROM members",
        "SELECT seq, received_at, action, entity_type, entity_id, updated_on, status, body_sha256 FROM events ORDER BY seq",
        "SELECT name, version, checkpoint FROM projections ORDER BY name",
    ]

    @Test func queryAndEveryExportAreByteIdenticalToSQLitesAtSeveralInstants() async throws {
        let log = try await SameLog(generated: 1000)
        let before = try Self.liveChecksums(log.postgres)
        let median = try PostgresCluster.psql(log.postgres, """
            SELECT v FROM (SELECT coalesce(updated_on, received_at) COLLATE "C" AS v FROM events) AS t
            ORDER BY v OFFSET (SELECT count(*) / 2 FROM events) LIMIT 1
            """)
        // Before everything; a median version time (inclusive: the delivery at T counts); a
        // month (its first instant: every generated delivery, none of the fixtures); inside the
        // fixtures' morning; after the last delivery.
        let instants = ["2000-01-01", median, "2026-03", "2026-03-02T08:30:00Z", "2100-01-01T00:00:00+01:00"]
        var coworkers: [String: String] = [:]
        for instant in instants {
            for sql in Self.queries {
                let arguments = ["query", "--as-of", instant, "--format", "csv", sql]
                let fromPostgres = try await CLI.run(arguments + ["--db", log.postgres])
                let fromSQLite = try await CLI.run(arguments + ["--db", log.sqlite])
                #expect(fromPostgres.status == 0, "\(arguments): \(fromPostgres.stderr)")
                #expect(fromSQLite.status == 0, "\(arguments): \(fromSQLite.stderr)")
                #expect(fromPostgres.stdout == fromSQLite.stdout, "\(arguments)\n\(Self.firstDifference(fromPostgres.output, fromSQLite.output))")
                if sql.hasPrefix("SELECT count(*) AS n") { coworkers[instant] = fromPostgres.output }
            }
            for report in ReportName.allCases.map(\.rawValue) {
                let arguments = ["export", report, "--as-of", instant]
                let fromPostgres = try await CLI.run(arguments + ["--db", log.postgres])
                let fromSQLite = try await CLI.run(arguments + ["--db", log.sqlite])
                #expect(fromPostgres.status == 0, "\(arguments): \(fromPostgres.stderr)")
                #expect(fromSQLite.status == 0, "\(arguments): \(fromSQLite.stderr)")
                #expect(fromPostgres.stdout == fromSQLite.stdout, "\(arguments)\n\(Self.firstDifference(fromPostgres.output, fromSQLite.output))")
            }
        }
        // The instants see different replicas: equal answers would otherwise prove little.
        #expect(coworkers["2000-01-01"] == "n,first,last\r\n0,,\r\n")
        #expect(Set(coworkers.values).count == instants.count, "\(coworkers)")
        // After the last delivery, the as-of replica is the live one.
        let live = try await CLI.run(["export", "members", "--db", log.postgres])
        let asOfLater = try await CLI.run(["export", "members", "--as-of", "2100-01-01", "--db", log.postgres])
        #expect(live.stdout == asOfLater.stdout)

        #expect(try Self.liveChecksums(log.postgres) == before)
        try await Self.expectNoTemporaryRelations(log.postgres)
    }

    @Test func writesAreRefusedAsOnSQLiteAndNothingIsWritten() async throws {
        let log = try await SameLog(generated: 0)
        let before = try Self.liveChecksums(log.postgres)
        for sql in [
            "DELETE FROM coworkers", "INSERT INTO bookings (id, seq, data) VALUES (1, 1, '{}')",
            "UPDATE projections SET checkpoint = 0",
        ] {
            let arguments = ["query", "--as-of", "2100-01-01", sql]
            let fromPostgres = try await CLI.run(arguments + ["--db", log.postgres])
            let fromSQLite = try await CLI.run(arguments + ["--db", log.sqlite])
            #expect(fromPostgres.status != 0 && fromSQLite.status != 0, "\(sql)")
            #expect(fromPostgres.stderr == fromSQLite.stderr, "\(sql)")
            #expect(fromPostgres.stderr.contains("would write"), "\(sql): \(fromPostgres.stderr)")
        }
        // What PostgreSQL lets a READ ONLY transaction do to TEMP tables is refused all the same
        // (SQLite words a write through a view its own way).
        for sql in [
            "WITH gone AS (DELETE FROM tombstones RETURNING 1) SELECT count(*) FROM gone", "TRUNCATE coworkers",
            "MERGE INTO teams t USING (SELECT 1 AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE",
            "CREATE TABLE x (a int)", "SELECT 1 INTO TEMP y", "INSERT INTO members (id, seq, data) VALUES (1, 1, '{}')",
            "UPDATE events SET status = 'quarantined'",
        ] {
            let result = try await CLI.run(["query", "--as-of", "2100-01-01", "--db", log.postgres, sql])
            #expect(result.status != 0, "\(sql)")
            #expect(result.stderr.contains("refused"), "\(sql): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(sql): \(result.stderr)")
        }
        // Parameters and the other refusals work as on the live replica.
        let bound = try await CLI.run([
            "query", "--as-of", "2100-01-01", "--db", log.postgres, "--format", "csv", "--param", "low=1",
            "SELECT count(*) AS n FROM coworkers WHERE id >= :low AND id + 0 >= :low",
        ])
        #expect(bound.status == 0, "\(bound.stderr)")
        #expect(bound.output == "n\r\n\(try PostgresCluster.psql(log.postgres, "SELECT count(*) FROM coworkers"))\r\n")
        let begin = try await CLI.run(["query", "--as-of", "2100-01-01", "--db", log.postgres, "BEGIN"])
        #expect(begin.stderr.contains("refused: BEGIN is not allowed"), "\(begin.stderr)")
        let bad = try await CLI.run(["export", "members", "--as-of", "yesterday", "--db", log.postgres])
        #expect(bad.status != 0 && bad.stderr.contains("--as-of"), "\(bad.stderr)")

        #expect(try Self.liveChecksums(log.postgres) == before)
        try await Self.expectNoTemporaryRelations(log.postgres)
    }

    /// A query that returns no row still prints its header, as on SQLite, live and as of T.
    @Test func anEmptyResultStillHasItsHeader() async throws {
        let log = try await SameLog(generated: 0)
        for extra in [[], ["--as-of", "2000-01-01"]] {
            for sql in [
                "SELECT id, full_name AS name FROM coworkers WHERE id < :low ORDER BY id -- none",
                "WITH c AS (SELECT * FROM members WHERE id < :low) SELECT count(*) AS n, c.id FROM c GROUP BY c.id;",
            ] {
                let arguments = ["query", "--format", "csv", "--param", "low=0"] + extra
                let fromPostgres = try await CLI.run(arguments + ["--db", log.postgres, sql])
                let fromSQLite = try await CLI.run(arguments + ["--db", log.sqlite, sql])
                #expect(fromPostgres.status == 0, "\(fromPostgres.stderr)")
                #expect(fromPostgres.output == fromSQLite.output, "\(extra) \(sql)")
                #expect(fromPostgres.output.hasPrefix(sql.hasPrefix("WITH") ? "n,id\r\n" : "id,name\r\n"))
            }
        }
    }

    /// The fold runs on its own session without locks the receivers or their projector wait
    /// for: deliveries keep being answered (and folded) while an as-of query builds and runs.
    @Test func serveKeepsAcceptingDeliveriesWhileAnAsOfQueryRuns() async throws {
        let log = try await SameLog(generated: 1500)
        // No automatic erasure: the generated log's old deletes would be erased at start, and
        // this test is about the as-of session alone.
        let server = try await RunningServer(
            arguments: ["--db", log.postgres, "--insecure-no-signature", "--erase-deleted-after", "never"])
        let coworkersBefore = Int(try PostgresCluster.psql(log.postgres, "SELECT count(*) FROM coworkers"))!
        let template = try #require(
            try JSONSerialization.jsonObject(with: Data(NexudusFixtures.body("CoworkerCreate"))) as? [[String: Any]])[0]

        let started = Date()
        let end = EndOfRun()
        let url = log.postgres
        // pg_sleep keeps the read-only transaction open a while after the fold: long enough for
        // several deliveries however fast the fold is and however slow a loaded machine answers.
        let asOf = Task {
            defer { end.mark() }
            return try await CLI.run([
                "query", "--db", url, "--as-of", "2100-01-01", "--format", "csv",
                "SELECT count(*) AS n FROM coworkers, pg_sleep(5)",
            ])
        }
        var answers: [(sent: Date, status: Int, seconds: Double)] = []
        var index = 0
        // Until the as-of query has ended, and a few more.
        while Date().timeIntervalSince(started) < 60, end.date == nil || index < 5 {
            var coworker = template
            coworker["Id"] = 1_600_000_000 + index
            coworker["FullName"] = "Concurrent \(index)"
            let body = Array(try JSONSerialization.data(withJSONObject: [coworker]))
            let sent = Date()
            let answer = try await HTTP.post("\(server.baseURL)/webhooks/CoworkerCreate", body: body)
            answers.append((sent, answer.status, Date().timeIntervalSince(sent)))
            index += 1
        }
        let result = try await asOf.value
        let ended = try #require(end.date)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.hasPrefix("n\r\n"), "\(result.output)")
        let during = answers.filter { $0.sent >= started && $0.sent.addingTimeInterval($0.seconds) <= ended }
        #expect(during.count >= 5, "only \(during.count) deliveries answered while the as-of query ran")
        #expect(answers.allSatisfy { $0.status == 200 })
        // No bound on an answer's time: `during` already shows deliveries sent and answered while
        // the as-of query ran, which a receiver blocked by it could not do, and a busy machine
        // stretches every answer alike.
        try await waitUntilFolded(log.postgres)
        #expect(try PostgresCluster.psql(log.postgres, "SELECT count(*) FROM coworkers") == "\(coworkersBefore + answers.count)")
        await server.stop()
    }

    /// Row counts and checksums of the log, the replica and the projections' checkpoints.
    static func liveChecksums(_ url: String) throws -> String {
        try (replicaTables + ["events", "projections", "log_head", "rejections"]).map { table in
            let sum = try PostgresCluster.psql(url, """
                SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text COLLATE "C"), '')) FROM \(table) AS t
                """)
            return "\(table) \(sum)"
        }.joined(separator: "\n")
    }

    /// The as-of relations ended with the command's session.
    static func expectNoTemporaryRelations(_ url: String) async throws {
        try await poll(timeout: 10) {
            try PostgresCluster.psql(url, "SELECT count(*) FROM pg_class WHERE relpersistence = 't'") == "0"
        }
    }

    /// When a concurrent run ended.
    final class EndOfRun: Sendable {
        private let ended = Mutex<Date?>(nil)
        var date: Date? { ended.withLock { $0 } }
        func mark() { ended.withLock { $0 = Date() } }
    }

    static func firstDifference(_ a: String, _ b: String) -> String {
        let left = a.split(separator: "\r\n", omittingEmptySubsequences: false)
        let right = b.split(separator: "\r\n", omittingEmptySubsequences: false)
        for index in 0..<max(left.count, right.count) where index >= left.count || index >= right.count || left[index] != right[index] {
            let l = index < left.count ? String(left[index]) : "<none>"
            let r = index < right.count ? String(right[index]) : "<none>"
            return "line \(index + 1) of \(left.count)/\(right.count)\nPostgreSQL: \(l)\nSQLite:     \(r)"
        }
        return "same"
    }
}

/// One log, delivery for delivery (same seq, received_at, bodies), in a SQLite file and a
/// PostgreSQL database, each folded into its live replica: the fixtures, their redeliveries
/// (duplicates, and the same versions under a sibling action: ties on UpdatedOn), then
/// scripts/bench.d/gen_log.py's deliveries (late versions, ties, deletes, deletes without
/// UpdatedOn, every date form).
struct SameLog {
    let postgres: String
    let sqlite: String
    let scratch = Scratch()

    init(generated: Int) async throws {
        postgres = try PostgresCluster.makeDatabase()
        sqlite = scratch.path("mirror.sqlite")
        let local = try SQLiteStore(path: sqlite)
        try local.registerProjectionsAndRebuildChanged()
        let start = Timestamp(parsing: "2026-04-30T09:00:00Z")!
        func delivery(_ fixture: String, as action: String? = nil, at index: Int) -> NewDelivery {
            NewDelivery(
                action: ActionCatalog.action(named: action ?? NexudusFixtures.action(of: fixture))!,
                body: NexudusFixtures.body(fixture), source: .webhook, signature: .raw,
                receivedAt: Timestamp(ticks: start.ticks + Int64(index) * 60 * Timestamp.ticksPerSecond))
        }
        let names = NexudusFixtures.names
        var deliveries = names.enumerated().map { delivery($1, at: $0) }
        deliveries += names.enumerated().map { delivery($1, at: names.count + $0) }
        deliveries += [("CoworkerUpdate", "CoworkerCreate"), ("BookingUpdate", "BookingCreate"), ("TeamUpdated", "TeamCreated")]
            .enumerated().map { delivery($1.0, as: $1.1, at: 2 * names.count + $0) }
        _ = try await local.append(deliveries)

        if generated > 0 {
            let script = NexudusFixtures.packageRoot.appendingPathComponent("scripts/bench.d/gen_log.py").path
            let result = try PostgresCluster.shell([try Self.python(), script, sqlite, "\(generated)", "--seed", "11"])
            try #require(result.status == 0, "gen_log.py: \(result.stderr)")
        }

        // The SQLite log, copied delivery by delivery: PostgreSQL assigns the same seqs.
        let rows = try PostgresCluster.sqlite(
            sqlite, "SELECT received_at, action, source, coalesce(signature, ''), hex(body) FROM events ORDER BY seq"
        ).split(separator: "\n")
        let store = try await PostgresStore(url: try PostgresURL(postgres), deadline: testDeadline, logger: Logger(label: "test"))
        defer { store.close() }
        try await store.registerProjections()
        var batch: [NewDelivery] = []
        for row in rows {
            let fields = row.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            batch.append(NewDelivery(
                action: try #require(ActionCatalog.action(named: fields[1])), body: Self.bytes(hex: fields[4]),
                source: try #require(NewDelivery.Source(rawValue: fields[2])),
                signature: try #require(SignatureForm(rawValue: fields[3])),
                receivedAt: try #require(Timestamp(parsing: fields[0]))))
            if batch.count == 200 {
                _ = try await store.append(batch)
                batch = []
            }
        }
        _ = try await store.append(batch)
        let events = "SELECT seq, received_at, action, action_id, entity_type, entity_id, updated_on, body_sha256, source, status FROM events ORDER BY seq"
        try #require(try PostgresCluster.psql(postgres, events) == PostgresCluster.sqlite(sqlite, events))
        try #require(rows.count == names.count + 3 + generated)  // the second round: duplicates

        while try await store.foldPending(limit: 500) > 0 {}
        while try await local.foldPending(limit: 500) > 0 {}
    }

    static func python() throws -> String {
        for path in ["/usr/bin/python3", "/usr/local/bin/python3"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw PostgresCluster.PSQLFailed(message: "python3 is needed to run scripts/bench.d/gen_log.py")
    }

    static func bytes(hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for character in hex.utf8 {
            let nibble = character <= 57 ? character - 48 : character - 55
            if let value = high {
                bytes.append(value << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return bytes
    }
}
