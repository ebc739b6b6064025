import Foundation
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// SPEC §5/§6 conformance found by auditing the built binary: user mistakes are one line,
/// a PostgreSQL URL is refused plainly, and the forms a careful user reaches for are accepted.
@Suite struct ConformanceTests {
    private func expectOneLineError(_ result: CommandResult, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status != 0, sourceLocation: sourceLocation)
        #expect(result.output.isEmpty, sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("Error: "), sourceLocation: sourceLocation)
        #expect(result.stderr.contains(text), "\(result.stderr)", sourceLocation: sourceLocation)
    }

    @Test func usageMistakesAreOneLineOnStandardError() async throws {
        let mirror = try await Mirror.fromFixtures()
        let badFormat = try await mirror.run(["query", "--format", "xml", "SELECT 1"])
        expectOneLineError(badFormat, containing: "table, csv, tsv, json, jsonl, markdown")
        #expect(badFormat.stderr.contains("(see 'nexmirror query --help')"))
        expectOneLineError(try await mirror.run(["query", "--bogus", "SELECT 1"]), containing: "Unknown option '--bogus'")
        expectOneLineError(try await mirror.run(["query"]), containing: "Missing expected argument '<sql>'")
        expectOneLineError(try await mirror.run(["events", "show", "abc"]), containing: "'abc' is invalid")
        expectOneLineError(try await mirror.run(["rebuild", "--projection", "nope"]), containing: "unknown projection 'nope'")
        expectOneLineError(try await CLI.run(["frobnicate"]), containing: "'frobnicate'")
        // Help, version and status --check's own exit code are untouched.
        let help = try await CLI.run(["query", "--help"])
        #expect(help.status == 0 && help.output.contains("USAGE:"))
        #expect(try await CLI.run(["events", "show", "--version"]).output.hasPrefix("0.1.0 (commit "))
        let check = try await mirror.run(["status", "--check", "--silence-after", "1000d"])
        #expect(check.status == 0 || check.status == 3)
        #expect(check.stderr.isEmpty)
    }

    @Test func aPostgreSQLURLIsRefusedInOneLine() async throws {
        let scratch = Scratch()
        for url in ["postgresql://mirror@localhost/nexmirror", "postgres://localhost:5432/nexmirror"] {
            // query, events, export, status, check, serve, import, rebuild and sync run on PostgreSQL
            // (Tests/ContractTests, Tests/PostgresTests): with no server there, one clear line.
            expectOneLineError(
                try await CLI.run(["query", "--db", url, "SELECT 1"], in: scratch.url), containing: "cannot connect to PostgreSQL database")
            expectOneLineError(
                try await CLI.run(["status"], environment: ["NEXMIRROR_DB": url], in: scratch.url),
                containing: "cannot connect to PostgreSQL database")
            expectOneLineError(
                try await CLI.run(["check"], environment: ["NEXMIRROR_DB": url], in: scratch.url),
                containing: "cannot connect to PostgreSQL database")
            // sync and webhooks keep no token file beside a PostgreSQL database: one line asks for it.
            expectOneLineError(
                try await CLI.run(["sync"], environment: ["NEXMIRROR_DB": url], in: scratch.url), containing: "pass --token-file")
            expectOneLineError(
                try await CLI.run(["webhooks", "--db", url], in: scratch.url), containing: "pass --token-file")
            expectOneLineError(
                try await CLI.run(["sync", "--token-file", scratch.path("token")], environment: ["NEXMIRROR_DB": url, "NEXUDUS_USERNAME": "u", "NEXUDUS_PASSWORD": "p"], in: scratch.url),
                containing: "cannot connect to PostgreSQL database")
            expectOneLineError(
                try await CLI.run(["serve", "--db", url, "--port", "0", "--insecure-no-signature"], in: scratch.url),
                containing: "cannot connect to PostgreSQL database nexmirror")
        }
        // Nothing was created that looks like a database named after the URL.
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
    }

    @Test func sendAcceptsTheFullWebhookURLGivenToNexudus() async throws {
        let scratch = Scratch()
        let server = try await RunningServer(arguments: ["--db", scratch.path("mirror.sqlite"), "--secret-file", scratch.secretFile()])
        let sent = try await CLI.run([
            "send", "CoworkerCreate", "--url", server.baseURL + "/webhooks/CoworkerCreate", "--secret-file", scratch.secretFile(),
        ])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.output == "200 {\"duplicate\":false,\"seq\":1}\n")
        let other = try await CLI.run(["send", "BookingCreate", "--url", server.baseURL + "/webhooks/", "--secret-file", scratch.secretFile()])
        #expect(other.output == "200 {\"duplicate\":false,\"seq\":2}\n", "\(other.stderr)")
        let events = try await CLI.run(["query", "--db", scratch.path("mirror.sqlite"), "SELECT action FROM events ORDER BY seq"])
        #expect(events.output.split(whereSeparator: \.isNewline) == ["action", "CoworkerCreate", "BookingCreate"])
        await server.stop()
    }

    @Test func exportTakesWholeMonthsForFromAndTo() async throws {
        let mirror = try await Mirror.fromFixtures()
        let membership = try await mirror.run(["export", "membership", "--from", "2026-01", "--to", "2026-04"])
        #expect(membership.status == 0, "\(membership.stderr)")
        let months = membership.output.split(whereSeparator: \.isNewline).dropFirst().map { $0.prefix(7) }
        #expect(months == ["2026-01", "2026-02", "2026-03", "2026-04"])
        let april = try await mirror.run(["export", "bookings", "--from", "2026-04", "--to", "2026-04"])
        #expect(april.output.split(whereSeparator: \.isNewline).map { $0.prefix(10) } == ["id,resourc", "1419005644", "1419013251"])
        let march = try await mirror.run(["export", "bookings", "--to", "2026-03"])
        #expect(march.output.split(whereSeparator: \.isNewline).count == 1)
        expectOneLineError(try await mirror.run(["export", "revenue", "--from", "2026-13"]), containing: "--from expects a date")
        // --as-of takes any form --from takes; a month is its first instant.
        let asOfMonth = try await mirror.run(["query", "--as-of", "2026-04", "SELECT count(*) AS n FROM coworkers"])
        let asOfDate = try await mirror.run(["query", "--as-of", "2026-04-01", "SELECT count(*) AS n FROM coworkers"])
        #expect(asOfMonth.status == 0, "\(asOfMonth.stderr)")
        #expect(asOfMonth.output == asOfDate.output)
    }

    @Test func eventsEntityTakesATableNameLikeHistory() async throws {
        let mirror = try await Mirror.fromFixtures()
        let byType = try await mirror.run(["events", "--entity", "CoworkerInvoice:1419044866", "--format", "csv"])
        #expect(byType.status == 0, "\(byType.stderr)")
        #expect(byType.output.split(whereSeparator: \.isNewline).count > 1)
        for spelling in ["invoices:1419044866", "coworkerinvoice:1419044866"] {
            let result = try await mirror.run(["events", "--entity", spelling, "--format", "csv"])
            #expect(result.output == byType.output, "\(spelling)")
        }
    }

    @Test func statusNamesTheLastDelivery() async throws {
        let mirror = try await Mirror.fromFixtures()
        let last = try await mirror.run(["query", "--format", "tsv", "SELECT received_at, action FROM events ORDER BY seq DESC LIMIT 1"])
        let fields = try #require(last.output.split(whereSeparator: \.isNewline).last?.split(separator: "\t"))
        let json = try await mirror.run(["status", "--format", "json"])
        let report = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        let log = try #require(report["log"] as? [String: Any])
        #expect(log["last_received_at"] as? String == String(fields[0]))
        #expect(log["last_action"] as? String == String(fields[1]))
        let text = try await mirror.run(["status"])
        #expect(text.output.contains("quarantined, last delivery \(fields[0]) (\(fields[1]))"), "\(text.output)")
    }

    @Test func importOfADTOArrayWithoutActionSaysToPassOne() async throws {
        let mirror = try await Mirror.fromFixtures()
        try mirror.write("coworkers.json", String(decoding: NexudusFixtures.body("CoworkerCreate"), as: UTF8.self))
        let result = try await mirror.run(["import", mirror.scratch.path("coworkers.json")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("found a JSON array (for a JSON array of DTOs, pass --action A)"), "\(result.stderr)")
        let fixed = try await mirror.run(["import", "--action", "CoworkerCreate", mirror.scratch.path("coworkers.json")])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(fixed.output.contains("coworkers.json: ") && fixed.output.contains(", 0 skipped"))
    }

    @Test func serveOnATakenPortSaysSoInOneLine() async throws {
        let scratch = Scratch()
        let server = try await RunningServer(arguments: ["--db", scratch.path("first.sqlite"), "--secret-file", scratch.secretFile()])
        let second = try await CLI.run([
            "serve", "--db", scratch.path("second.sqlite"), "--port", "\(server.port)", "--secret-file", scratch.secretFile(),
        ])
        #expect(second.status == 1)
        // serve logs to stderr too; the failure itself is the last line, and no spurious error precedes it.
        #expect(second.stderr.hasSuffix("\nError: cannot listen on 127.0.0.1:\(server.port): the port is already in use (another nexmirror serve?)\n"))
        #expect(!second.stderr.contains("CancellationError"), "\(second.stderr)")
        await server.stop()
    }

    @Test func dbIsGlobalBeforeTheCommandAndOnEveryCommand() async throws {
        let mirror = try await Mirror.fromFixtures()
        let before = try await CLI.run(["--db", mirror.path, "query", "--format", "csv", "SELECT count(*) AS n FROM events"])
        #expect(before.status == 0, "\(before.stderr)")
        #expect(before.output.split(whereSeparator: \.isNewline) == ["n", "32"])
        let equals = try await CLI.run(["--db=\(mirror.path)", "events", "show", "1"])
        #expect(equals.stdout == Data(NexudusFixtures.body(NexudusFixtures.names[0])))
        let actions = try await CLI.run(["actions", "--db", mirror.path])
        #expect(actions.status == 0, "\(actions.stderr)")
        #expect(actions.output.split(whereSeparator: \.isNewline).count == 91)
    }

    @Test func secretLookupOrderIsFileThenEnvironmentThenBesideTheDatabase() async throws {
        let scratch = Scratch()
        let database = scratch.path("mirror.sqlite")
        let body = NexudusFixtures.body("emoji-name")
        let expected = try #require(NexudusFixtures.signatures["emoji-name"])
        let none = try await CLI.run(["verify", "--db", database, "--signature", expected], stdin: body)
        expectOneLineError(none, containing: scratch.path("nexmirror.secret"))

        try Data((NexudusFixtures.secret + "\n").utf8).write(to: URL(fileURLWithPath: scratch.path("nexmirror.secret")))
        #expect(try await CLI.run(["sign", "--db", database], stdin: body).output == expected + "\n")
        let verified = try await CLI.run(["verify", "--signature", expected], stdin: body, environment: ["NEXMIRROR_DB": database])
        #expect(verified.status == 0, "\(verified.stderr)")
        // The environment beats the default file, and --secret-file beats the environment.
        let fromEnvironment = try await CLI.run(["sign", "--db", database], stdin: body, environment: ["NEXMIRROR_SECRET": "other"])
        #expect(fromEnvironment.output != expected + "\n")
        let rotated = try await CLI.run(
            ["verify", "--db", database, "--signature", expected], stdin: body,
            environment: ["NEXMIRROR_SECRET": "new-secret\n\(NexudusFixtures.secret)"])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let fromFile = try await CLI.run(
            ["sign", "--db", database, "--secret-file", scratch.path("nexmirror.secret")], stdin: body,
            environment: ["NEXMIRROR_SECRET": "other"])
        #expect(fromFile.output == expected + "\n")
    }

    @Test func importOfAMissingFileImportsNothingAndSaysSoInOneLine() async throws {
        let mirror = try await Mirror.fromFixtures()
        let before = try await mirror.counts()
        try mirror.write("new.jsonl", #"{"action": "TariffCreate", "body": [{"Id": 77, "Name": "Hot desk"}]}"#)
        let result = try await mirror.run(["import", mirror.scratch.path("new.jsonl"), mirror.scratch.path("typo.jsonl")])
        expectOneLineError(result, containing: "cannot read \(mirror.scratch.path("typo.jsonl")): no such file; nothing was imported")
        expectOneLineError(try await mirror.run(["import", mirror.scratch.url.path]), containing: "a directory")
        #expect(try await mirror.counts() == before)
    }

    @Test func syncAgainstAnUnreachableAPIFailsWithinItsBackoffNotMinutes() async throws {
        let scratch = Scratch()
        let started = Date()
        let result = try await CLI.run(
            ["sync", "--dry-run", "--db", scratch.path("mirror.sqlite"), "--api-url", "http://127.0.0.1:9"],
            environment: ["NEXUDUS_USERNAME": "ops@example.org", "NEXUDUS_PASSWORD": "pw"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("Error: sync stopped: cannot reach http://127.0.0.1:9"))
        // Five attempts with 0.5 s doubling backoff: about 8 s; the pool's silent retries made it
        // 5 min. The bound tells the two apart with room for a machine busy with other work.
        #expect(Date().timeIntervalSince(started) < 120)
    }
}
