import Foundation
import NexudusFixtures
import Testing

/// `nexmirror serve --db postgresql://…`: every HTTP outcome of SPEC §3 on the PostgreSQL store.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresReceiverTests {
    static func serve(_ url: String, _ extra: [String] = [], secret: Bool = true) async throws -> (RunningServer, Scratch) {
        let scratch = Scratch()
        let arguments = ["--db", url] + (secret ? ["--secret-file", scratch.secretFile()] : []) + extra
        return (try await RunningServer(arguments: arguments), scratch)
    }

    @Test func everyFixtureIsLoggedOnceAndFolded() async throws {
        let url = try PostgresCluster.makeDatabase()
        let (server, _) = try await Self.serve(url)
        var seqs: [String: Int] = [:]
        for name in NexudusFixtures.names {
            let answer = try await HTTP.deliver(name, to: server)
            #expect(answer.status == 200, "\(name): \(answer.body)")
            #expect(answer.json["duplicate"] as? Bool == false)
            seqs[name] = answer.json["seq"] as? Int
        }
        for name in NexudusFixtures.names {
            let again = try await HTTP.deliver(name, to: server)
            #expect(again.status == 200)
            #expect(again.json["duplicate"] as? Bool == true)
            #expect(again.json["seq"] as? Int == seqs[name])
        }
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM events") == "\(NexudusFixtures.names.count)")
        try await waitUntilFolded(url)
        #expect(try PostgresCluster.psql(url, "SELECT count(*) > 0 FROM bookings") == "t")
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM events WHERE status = 'quarantined'") == "0")
        #expect(try await HTTP.get("\(server.baseURL)/readyz").status == 200)
    }

    @Test func aWrongSignatureIs401AndOnlyItsMetadataIsKept() async throws {
        let url = try PostgresCluster.makeDatabase()
        let (server, _) = try await Self.serve(url)
        let answer = try await HTTP.post(
            "\(server.baseURL)/webhooks/CoworkerCreate", body: NexudusFixtures.body("CoworkerCreate"),
            headers: [("X-Nexudus-Hook-Signature", String(repeating: "A", count: 64))])
        #expect(answer.status == 401)
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM events") == "0")
        try await poll { try PostgresCluster.psql(url, "SELECT count(*) FROM rejections") == "1" }
    }

    @Test func unknownActionsAre404AndLargeBodies413() async throws {
        let url = try PostgresCluster.makeDatabase()
        let (server, _) = try await Self.serve(url, ["--max-body-bytes", "1000"])
        #expect(try await HTTP.post("\(server.baseURL)/webhooks/NoSuchAction", body: Array("[]".utf8)).status == 404)
        let large = try await HTTP.post(
            "\(server.baseURL)/webhooks/CoworkerCreate", body: Array(repeating: UInt8(ascii: " "), count: 5000))
        #expect(large.status == 413)
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM events") == "0")
    }

    @Test func aSignedUndecodableBodyIsKeptQuarantined() async throws {
        let url = try PostgresCluster.makeDatabase()
        let (server, _) = try await Self.serve(url, ["--insecure-no-signature"], secret: false)
        let answer = try await HTTP.post("\(server.baseURL)/webhooks/CoworkerCreate", body: Array("{not json".utf8))
        #expect(answer.status == 200)
        #expect(try PostgresCluster.psql(url, "SELECT status, error IS NOT NULL, body FROM events")
            == "quarantined|t|\\x7b6e6f74206a736f6e")
    }

    @Test func withoutASecretServeRefusesToStart() async throws {
        let url = try PostgresCluster.makeDatabase()
        let result = try await CLI.run(["serve", "--db", url, "--port", "0"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("no secret"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func signAndVerifyTakeTheSecretFromTheFileOrEnvironmentOnPostgreSQL() async throws {
        let url = try PostgresCluster.makeDatabase()
        let body = NexudusFixtures.body("CoworkerCreate")
        // No file beside a PostgreSQL database to fall back on: the line says where a secret goes.
        for arguments in [["sign"], ["verify", "--signature", String(repeating: "A", count: 64)]] {
            let refused = try await CLI.run(arguments + ["--db", url], stdin: body)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("on PostgreSQL pass --secret-file"), "\(refused.stderr)")
            #expect(!refused.stderr.contains("does not run on PostgreSQL"), "\(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1)
        }
        let scratch = Scratch()
        let signed = try await CLI.run(["sign", "--db", url, "--secret-file", scratch.secretFile()], stdin: body)
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(signed.output == NexudusFixtures.signature("CoworkerCreate") + "\n")
        let fromEnvironment = try await CLI.run(
            ["sign", "--db", url], stdin: body, environment: ["NEXMIRROR_SECRET": NexudusFixtures.secret])
        #expect(fromEnvironment.output == signed.output, "\(fromEnvironment.stderr)")
    }

    @Test func aRedeliveryToAnotherReceiverIsADuplicate() async throws {
        let url = try PostgresCluster.makeDatabase()
        let (first, _) = try await Self.serve(url)
        let (second, _) = try await Self.serve(url)
        let a = try await HTTP.deliver("CoworkerUpdate", to: first)
        let b = try await HTTP.deliver("CoworkerUpdate", to: second)
        #expect(a.json["duplicate"] as? Bool == false)
        #expect(b.json["duplicate"] as? Bool == true)
        #expect(b.json["seq"] as? Int == a.json["seq"] as? Int)
    }

    /// A receiver rides out a PostgreSQL restart: 503 while it is down, 200 again once it is
    /// back, same process. On a cluster of its own, so other suites keep theirs.
    @Test func whilePostgreSQLIsDownDeliveriesAre503ThenAcceptedAgain() async throws {
        let cluster = try PrivateCluster()
        let (server, _) = try await Self.serve(cluster.url, ["--lock-timeout", "2"])
        #expect(try await HTTP.deliver("CoworkerCreate", to: server).status == 200)
        try cluster.control("crash")
        let refused = try await HTTP.deliver("CoworkerUpdate", to: server)
        #expect(refused.status == 503)
        #expect(try await HTTP.get("\(server.baseURL)/readyz").status == 503)
        try cluster.control("restart")
        try await poll(timeout: 60) { try await HTTP.deliver("CoworkerUpdate", to: server).status == 200 }
        #expect(try await HTTP.get("\(server.baseURL)/readyz").status == 200)
        #expect(try PostgresCluster.psql(cluster.url, "SELECT action FROM events ORDER BY seq") == "CoworkerCreate\nCoworkerUpdate")
        #expect(server.process.isRunning)
    }
}

/// Polls `condition` until it holds or `timeout` seconds pass.
func poll(timeout: Double = 30, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("condition not met within \(timeout) s")
}

/// Waits until every projection's checkpoint reaches the end of the log.
func waitUntilFolded(_ url: String) async throws {
    try await poll {
        try PostgresCluster.psql(url, "SELECT (SELECT last_seq FROM log_head) = (SELECT min(checkpoint) FROM projections)")
            == "t"
    }
}

/// A cluster of the test's own (scripts/pg start), stopped when the value goes away.
final class PrivateCluster {
    let url: String
    let directory: String

    init() throws {
        let script = NexudusFixtures.packageRoot.appendingPathComponent("scripts/pg").path
        var started = try #require(PostgresCluster.spawnAndWait([script, "start"]))
        if started.status != 0 { started = try #require(PostgresCluster.spawnAndWait([script, "start"])) }
        try #require(started.status == 0, "scripts/pg start: \(started.errors)")
        var exports: [String: String] = [:]
        for match in started.output.matches(of: /(NEXMIRROR_PG_\w+)='([^']*)'/) { exports[String(match.1)] = String(match.2) }
        url = try #require(exports["NEXMIRROR_PG_URL"])
        directory = try #require(exports["NEXMIRROR_PG_DIR"])
    }

    func control(_ verb: String) throws { try Self.control(verb, directory: directory) }

    static func control(_ verb: String, directory: String) throws {
        // restart starts the daemon: see spawnAndWait.
        let result = try #require(PostgresCluster.spawnAndWait(
            [NexudusFixtures.packageRoot.appendingPathComponent("scripts/pg").path, verb, directory]))
        try #require(result.status == 0, "scripts/pg \(verb): \(result.errors)")
    }

    deinit {
        _ = PostgresCluster.spawnAndWait([NexudusFixtures.packageRoot.appendingPathComponent("scripts/pg").path, "stop", directory])
    }
}

/// `import` and `rebuild` on `--db postgresql://…`.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresCommandTests {
    /// A rebuild while a receiver keeps ingesting swaps in the same replica a live fold built,
    /// and the `members` view follows the new table.
    @Test func rebuildDuringIngestReproducesTheReplica() async throws {
        let url = try PostgresCluster.makeDatabase()
        let (server, _) = try await PostgresReceiverTests.serve(url)
        let names = NexudusFixtures.names
        for name in names.prefix(names.count / 2) { #expect(try await HTTP.deliver(name, to: server).status == 200) }
        async let rebuilt = Task.detached { try await CLI.run(["rebuild", "--db", url]) }.value
        for name in names.dropFirst(names.count / 2) { #expect(try await HTTP.deliver(name, to: server).status == 200) }
        let result = try await rebuilt
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.hasPrefix("rebuilt coworkers, bookings"))
        try await waitUntilFolded(url)
        let live = try PostgresStoreTests.replicaDump(url)
        let again = try await CLI.run(["rebuild", "--db", url])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try PostgresStoreTests.replicaDump(url) == live)
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM members")
            == PostgresCluster.psql(url, "SELECT count(*) FROM coworkers WHERE active = 1 AND archived = 0"))
    }

    @Test func importAppendsEachDeliveryOnce() async throws {
        let url = try PostgresCluster.makeDatabase()
        let scratch = Scratch()
        let lines = NexudusFixtures.names.map { name in
            let body = String(decoding: NexudusFixtures.body(name), as: UTF8.self)
            let object = ["action": NexudusFixtures.action(of: name), "body": body]
            return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }
        let file = scratch.path("backfill.jsonl")
        _ = FileManager.default.createFile(atPath: file, contents: Data((lines.joined(separator: "\n") + "\n").utf8))
        let first = try await CLI.run(["import", "--db", url, file])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try await CLI.run(["import", "--db", url, file])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try PostgresCluster.psql(url, "SELECT count(*), max(seq) FROM events") == "\(lines.count)|\(lines.count)")
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM events WHERE source = 'import'") == "\(lines.count)")
    }
}

/// `query` and `events` on `--db postgresql://…`: the same output as on SQLite for the same log.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresReadingTests {
    /// The fixtures delivered to a SQLite receiver and a PostgreSQL one, then folded.
    static func bothBackends(
        _ names: [String] = NexudusFixtures.names
    ) async throws -> (postgres: String, sqlite: String, scratch: Scratch) {
        let url = try PostgresCluster.makeDatabase()
        let (postgres, _) = try await PostgresReceiverTests.serve(url)
        let scratch = Scratch()
        let sqlite = try await RunningServer(arguments: ["--db", scratch.path("mirror.sqlite"), "--secret-file", scratch.secretFile()])
        for name in names {
            #expect(try await HTTP.deliver(name, to: postgres).status == 200)
            #expect(try await HTTP.deliver(name, to: sqlite).status == 200)
        }
        try await waitUntilFolded(url)
        await sqlite.stop()
        await postgres.stop()
        return (url, scratch.path("mirror.sqlite"), scratch)
    }

    @Test func queryPrintsTheSameValuesAsOnSQLite() async throws {
        // The scratch directory holds the SQLite file: kept until the test ends.
        let (postgres, sqlite, scratch) = try await Self.bothBackends()
        defer { withExtendedLifetime(scratch) {} }
        for sql in [
            "SELECT id, full_name, email, active, archived, updated_on FROM coworkers ORDER BY id",
            "SELECT id, invoice_number, total_amount, paid_amount, paid, due_date, status FROM invoices ORDER BY id",
            "SELECT id, from_time, to_time, tentative FROM bookings ORDER BY id",
            "SELECT count(*) AS n FROM members",
        ] {
            let fromPostgres = try await CLI.run(["query", "--db", postgres, "--format", "csv", sql])
            let fromSQLite = try await CLI.run(["query", "--db", sqlite, "--format", "csv", sql])
            #expect(fromPostgres.status == 0, "\(fromPostgres.stderr)")
            #expect(fromSQLite.status == 0, "\(fromSQLite.stderr)")
            #expect(fromPostgres.output == fromSQLite.output, "\(sql)")
        }
        let bound = try await CLI.run(["query", "--db", postgres, "--format", "csv", "--param", "id=1", "SELECT id::text || ':id' AS x FROM coworkers WHERE 1 = :id LIMIT 1"])
        #expect(bound.status == 0, "\(bound.stderr)")
        #expect(bound.output.hasSuffix(":id\r\n"))

        // A name used twice is one parameter, as on SQLite.
        let twice = "SELECT count(*) AS n FROM coworkers WHERE id >= :low AND id + 0 >= :low"
        let fromPostgres = try await CLI.run(["query", "--db", postgres, "--format", "csv", "--param", "low=1", twice])
        let fromSQLite = try await CLI.run(["query", "--db", sqlite, "--format", "csv", "--param", "low=1", twice])
        #expect(fromPostgres.status == 0, "\(fromPostgres.stderr)")
        #expect(fromPostgres.output == fromSQLite.output)
    }

    @Test func anEmptyResultPrintsTheSameHeaderAsOnSQLiteInEveryFormat() async throws {
        let (postgres, sqlite, scratch) = try await Self.bothBackends([NexudusFixtures.names[0]])
        defer { withExtendedLifetime(scratch) {} }
        let sql = "SELECT id, full_name, active, updated_on FROM coworkers WHERE id < 0 ORDER BY id"
        for format in ["csv", "tsv", "json", "jsonl", "markdown", "table"] {
            let fromPostgres = try await CLI.run(["query", "--db", postgres, "--format", format, sql])
            let fromSQLite = try await CLI.run(["query", "--db", sqlite, "--format", format, sql])
            #expect(fromPostgres.status == 0, "\(format): \(fromPostgres.stderr)")
            #expect(fromSQLite.status == 0, "\(format): \(fromSQLite.stderr)")
            #expect(fromPostgres.stdout == fromSQLite.stdout, "\(format)\n\(fromPostgres.output)---\n\(fromSQLite.output)")
            if format != "json" && format != "jsonl" {
                #expect(fromPostgres.output.contains("full_name"), "\(format): \(fromPostgres.output)")
            }
        }
        let csv = try await CLI.run(["query", "--db", postgres, "--format", "csv", sql])
        #expect(csv.output == "id,full_name,active,updated_on\r\n")
        // `events` reads through the same path: a filter that matches nothing still names its columns.
        let arguments = ["events", "--action", "TeamDeleted", "--format", "csv"]
        let events = try await CLI.run(arguments + ["--db", postgres])
        #expect(events.status == 0, "\(events.stderr)")
        #expect(events.stdout == (try await CLI.run(arguments + ["--db", sqlite])).stdout)
        #expect(events.output.hasPrefix("seq,received_at,action"), "\(events.output)")
    }

    /// Built from the one list of what does not run on PostgreSQL yet; when `--as-of` lands there
    /// this refusal goes with it.
    @Test func asOfIsRefusedInOneLineNamingWhatDoesNotRunYet() async throws {
        let url = try PostgresCluster.makeDatabase()
        let scratch = Scratch()
        await (try await RunningServer(arguments: ["--db", url, "--secret-file", scratch.secretFile()])).stop()
        for arguments in [["query", "--as-of", "2026-01-01", "SELECT 1 AS one"], ["export", "members", "--as-of", "2026-01-01"]] {
            let result = try await CLI.run(arguments + ["--db", url])
            #expect(result.status != 0)
            #expect(result.stderr.contains("--as-of does not run on PostgreSQL yet (of all commands and options only backup and --as-of do not)"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test func queryRefusesWritesInOneLine() async throws {
        let url = try PostgresCluster.makeDatabase()
        let scratch = Scratch()
        await (try await RunningServer(arguments: ["--db", url, "--secret-file", scratch.secretFile()])).stop()
        for (sql, message) in [
            ("DELETE FROM events", "refused: DELETE would write"),
            ("BEGIN", "refused: BEGIN is not allowed"),
            ("SELECT 1; SELECT 2", "this SQL holds 2"),
            ("SELECT nope FROM events", "SQL error"),
        ] {
            let result = try await CLI.run(["query", "--db", url, sql])
            #expect(result.status != 0)
            #expect(result.stderr.contains(message), "\(sql): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test func eventsListsAndShowsAsOnSQLite() async throws {
        // The scratch directory holds the SQLite file: kept until the test ends.
        let (postgres, sqlite, scratch) = try await Self.bothBackends()
        defer { withExtendedLifetime(scratch) {} }
        for arguments in [["events", "--format", "csv", "--limit", "0"], ["events", "--action", "CoworkerUpdate", "--format", "csv"]] {
            let fromPostgres = try await CLI.run(arguments + ["--db", postgres])
            let fromSQLite = try await CLI.run(arguments + ["--db", sqlite])
            #expect(fromPostgres.status == 0, "\(fromPostgres.stderr)")
            // received_at differs between the two receivers; every other column is the same.
            let strip = { (text: String) in text.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).enumerated().filter { $0.offset != 1 }.map(\.element).joined(separator: ",") } }
            #expect(strip(fromPostgres.output) == strip(fromSQLite.output))
        }
        let shown = try await CLI.run(["events", "show", "1", "--db", postgres])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout == Data(NexudusFixtures.body(NexudusFixtures.names[0])))
    }
}
