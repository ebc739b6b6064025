import Foundation
import GRDB
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// The operator's side through the real binary: `/api/status` against `status --format json`,
/// `status --check`, `history`, `export membership` and `--as-of` (the routes alone: NexMirrorServerTests).
@Suite(.serialized) struct OperationsTests {
    private func server(_ scratch: Scratch, _ extra: [String] = []) async throws -> RunningServer {
        try await RunningServer(arguments: ["--db", scratch.path("mirror.sqlite"), "--secret-file", scratch.secretFile()] + extra)
    }

    private func write(_ scratch: Scratch, _ sql: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let queue = try DatabaseQueue(path: scratch.path("mirror.sqlite"), configuration: configuration)
        try queue.write { db in try db.execute(sql: sql) }
    }

    /// Rows another part of nexmirror (sync, webhooks) writes, inserted here by hand.
    static let syncAndWebhooks = NexudusFixtures.syncAndWebhookRows

    /// Polls until every projection has folded the whole log.
    private func waitUntilFolded(_ url: String) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(20)
        while true {
            let status = try await HTTP.get(url).json
            let projections = status["projections"] as? [[String: Any]] ?? []
            if !projections.isEmpty, projections.allSatisfy({ $0["lag"] as? Int == 0 }) { return status }
            guard Date() < deadline else { throw Timeout(what: "projections to catch up") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    struct Timeout: Error { let what: String }

    @Test func apiStatusServesWhatStatusJSONPrints() async throws {
        let scratch = Scratch()
        let server = try await server(scratch)
        for name in ["CoworkerCreate", "BookingCreate", "CoworkerInvoicePaid"] {
            #expect(try await HTTP.deliver(name, to: server).status == 200)
        }
        try write(scratch, Self.syncAndWebhooks)
        _ = try await waitUntilFolded("\(server.baseURL)/api/status")
        let served = try await HTTP.get("\(server.baseURL)/api/status")
        let printed = try await CLI.run(["status", "--format", "json", "--db", scratch.path("mirror.sqlite")])
        #expect(printed.status == 0, "\(printed.stderr)")
        var api = served.json
        var cli = (try JSONSerialization.jsonObject(with: printed.stdout) as? [String: Any]) ?? [:]
        // What differs between two reads a moment apart: the instant and the file sizes.
        for key in ["generated_at", "log"] {
            api[key] = nil
            cli[key] = nil
        }
        #expect(!api.isEmpty)
        #expect(NSDictionary(dictionary: api).isEqual(to: cli))
        let actions = try #require(api["actions"] as? [[String: Any]])
        #expect(actions.first { $0["action"] as? String == "CoworkerCreate" }?["webhooks24h"] as? Int == 1)
        #expect(actions.first { $0["action"] as? String == "TeamCreated" }?["state"] as? String == "disabled in Nexudus")
        #expect((api["sync"] as? [[String: Any]])?.first { $0["kind"] as? String == "coworkers" }?["drift"] as? Int == 7)
        #expect((api["hourly"] as? [[String: Any]])?.count == 168)
    }

    @Test func statusCheckPrintsOneLinePerProblemAndExitsThree() async throws {
        let scratch = Scratch()
        let server = try await server(scratch)
        #expect(try await HTTP.deliver("CoworkerCreate", to: server).status == 200)
        _ = try await waitUntilFolded("\(server.baseURL)/api/status")
        let database = ["--db", scratch.path("mirror.sqlite")]
        let healthy = try await CLI.run(["status", "--check"] + database)
        #expect(healthy.status == 0, "\(healthy.output)")
        #expect(healthy.output.isEmpty)

        // Silent once a second has passed without a delivery.
        let deadline = Date().addingTimeInterval(60)
        var silent = try await CLI.run(["status", "--check", "--silence-after", "1s"] + database)
        while silent.status != 3, Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
            silent = try await CLI.run(["status", "--check", "--silence-after", "1s"] + database)
        }
        #expect(silent.status == 3)
        #expect(silent.output.hasPrefix("silent: CoworkerCreate received nothing for "))
        #expect(silent.output.hasSuffix("(threshold 1s, --silence-after)\n"))

        try write(scratch, Self.syncAndWebhooks)
        let problems = try await CLI.run(["status", "--check"] + database)
        #expect(problems.status == 3)
        #expect(problems.output == """
            disabled in Nexudus: every webhook for TeamCreated is inactive; re-enable it (nexmirror webhooks setup --url BASE)
            sync failing: bookings: HTTP 500 after 5 retries

            """)
        let text = try await CLI.run(["status"] + database)
        #expect(text.output.contains("disabled     in Nexudus: TeamCreated"))
        #expect(text.output.contains("coworkers  2026-06-01T10:02:00.0000000Z     120      7"))

        let wrong = try await CLI.run(["status", "--check", "--silence-after", "soon"] + database)
        #expect(wrong.status != 0 && wrong.status != 3)
        #expect(wrong.stderr.contains("--silence-after expects a duration such as 90m, 6h or 2d, got 'soon'"))
    }

    @Test func historyPrintsEveryDeliveryWithItsOutcome() async throws {
        let mirror = try await Mirror.fromFixtures()
        let update = #"[{"Id":1419009389,"FullName":"José Müller","Active":true,"Archived":false,"TariffName":"Hot desk","UpdatedOn":"2026-03-03T09:00:00Z"}]"#
        let late = #"[{"Id":1419009389,"FullName":"Old Name","Active":true,"Archived":false,"UpdatedOn":"2026-03-01T09:00:00Z"}]"#
        let lines = try [update, late].map { body in
            String(decoding: try JSONSerialization.data(
                withJSONObject: ["action": "CoworkerUpdate", "body": body], options: [.sortedKeys]), as: UTF8.self)
        }
        try await mirror.importLines(lines)
        let result = try await mirror.run(["history", "coworkers", "1419009389", "--format", "csv"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = CSV.parse(result.output)
        #expect(rows.first == ["seq", "received_at", "action", "source", "updated_on", "outcome", "changes"])
        #expect(rows.dropFirst().map { [$0[2], $0[3], $0[5]] } == [
            ["CoworkerUpdate", "import", "superseded by seq 33"],
            ["CoworkerUpdate", "import", "the version held"],
            ["CoworkerUpdate", "import", "ignored as older than seq 33"],
        ])
        #expect(rows[2][6].contains("TariffName: Virtual office → Hot desk"))
        let byType = try await mirror.run(["history", "Coworker", "1419009389", "--format", "csv"])
        #expect(byType.output == result.output)
        let unknown = try await mirror.run(["history", "desks", "1"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("unknown entity 'desks'"))
        let missing = try await mirror.run(["history", "coworkers", "42"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no delivery of Coworker 42 in the log"))
    }

    @Test func exportMembershipCountsMembersPerMonth() async throws {
        let mirror = try await Mirror.fromFixtures()
        let result = try await mirror.run(["export", "membership"])
        #expect(result.status == 0, "\(result.stderr)")
        // The fixtures: three coworkers created in March 2026, one of them deleted.
        #expect(CSV.parse(result.output) == [
            ["month", "members_at_start", "joined", "left", "members_at_end"], ["2026-03", "0", "3", "1", "2"],
        ])
        let range = try await mirror.run(["export", "membership", "--from", "2026-02-01", "--to", "2026-04-30"])
        #expect(CSV.parse(range.output).dropFirst().map(\.[0]) == ["2026-02", "2026-03", "2026-04"])
    }

    @Test func asOfReadsThePastAndLeavesTheLiveReplicaAlone() async throws {
        let mirror = try await Mirror.fromFixtures()
        let sql = "SELECT id, full_name, updated_on FROM coworkers ORDER BY id"
        let live = try await mirror.csv(sql)
        let projections = try await mirror.csv("SELECT name, checkpoint, updated_at FROM projections")
        let before = try await mirror.run(["query", "--format", "csv", "--as-of", "2026-01-01", sql])
        #expect(before.status == 0, "\(before.stderr)")
        #expect(CSV.parse(before.output) == [["id", "full_name", "updated_on"]])
        let after = try await mirror.run(["query", "--format", "csv", "--as-of", "2030-01-01T00:00:00+01:00", sql])
        #expect(CSV.parse(after.output) == live)
        // Between the create (08:00:21) and the delete (08:43:57) of 1419000582.
        let between = try await mirror.run(["query", "--format", "csv", "--as-of", "2026-03-02T08:30:00Z", "SELECT id FROM coworkers ORDER BY id"])
        #expect(CSV.parse(between.output).contains(["1419000582"]))
        // The log as of T: only the deliveries whose version time is at or before it.
        let events = try await mirror.run(["query", "--format", "csv", "--as-of", "2026-03-02T08:30:00Z",
                                     "SELECT count(*) FROM events WHERE coalesce(updated_on, received_at) > '2026-03-02T08:30:00Z'"])
        #expect(CSV.parse(events.output) == [["count(*)"], ["0"]], "\(events.stderr)")
        let all = try await mirror.run(["query", "--format", "csv", "--as-of", "2026-03-02T08:30:00Z", "SELECT count(*) FROM events"])
        let expected = try await mirror.csv("SELECT count(*) FROM events WHERE coalesce(updated_on, received_at) <= '2026-03-02T08:30:00Z'")
        #expect(CSV.parse(all.output) == expected)
        #expect(expected[1][0] != "0" && expected[1][0] != "32")
        let export = try await mirror.run(["export", "members", "--as-of", "2026-03-02T08:30:00Z"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.output.contains("1419000582"))
        #expect(try await mirror.csv(sql) == live)
        #expect(try await mirror.csv("SELECT name, checkpoint, updated_at FROM projections") == projections)
        let bad = try await mirror.run(["query", "--as-of", "yesterday", sql])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--as-of expects a date"))
    }
}

/// The dashboard in a real browser: headless Chromium from Debian (installed when missing).
@Suite(.serialized) struct DashboardBrowserTests {
    static func chromium() async throws -> String {
        let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        if let found = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) { return found }
        let install = try await Shell.run("/bin/sh", [
            "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium",
        ], timeout: 900)
        guard let found = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw Shell.Failure(message: "chromium is missing and `apt-get install chromium` failed: \(install.stderr.suffix(400))")
        }
        return found
    }

    /// Where the screenshot is kept: $NEXMIRROR_SCREENSHOT, else .build/dashboard.png.
    static var screenshotPath: String {
        ProcessInfo.processInfo.environment["NEXMIRROR_SCREENSHOT"]
            ?? NexudusFixtures.packageRoot.appendingPathComponent(".build/dashboard.png").path
    }

    @Test func dashboardRendersWithoutJavaScriptOrExternalAssets() async throws {
        let browser = try await Self.chromium()
        let scratch = Scratch()
        let server = try await RunningServer(arguments: [
            "--db", scratch.path("mirror.sqlite"), "--secret-file", scratch.secretFile(), "--admin-port", "0",
        ])
        let admin = "http://127.0.0.1:\(try await OperationsTestsSupport.adminPort(of: server))"
        for name in NexudusFixtures.names { _ = try await HTTP.deliver(name, to: server) }
        _ = try await HTTP.post(
            "\(server.baseURL)/webhooks/CoworkerUpdate", body: NexudusFixtures.body("CoworkerUpdate"),
            headers: [("X-Nexudus-Hook-Signature", String(repeating: "0", count: 64))])
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        try await DatabaseQueue(path: scratch.path("mirror.sqlite"), configuration: configuration).write { db in
            try db.execute(sql: OperationsTests.syncAndWebhooks)
        }

        // Rejections are recorded in the background: wait for the hint.
        let deadline = Date().addingTimeInterval(20)
        var page = try await HTTP.get(admin + "/")
        while !page.body.contains("Wrong secret?"), Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
            page = try await HTTP.get(admin + "/")
        }
        // The HTML as served: the promise of "no JavaScript, no external assets" is about it.
        #expect(page.status == 200)
        #expect(!page.body.lowercased().contains("<script"))
        #expect(page.body.range(of: #"(src|href)\s*=\s*"?(https?:)?//"#, options: .regularExpression) == nil)
        #expect(page.body.contains("<meta http-equiv=\"refresh\" content=\"30\">"))
        #expect(!page.body.contains(NexudusFixtures.secret))
        #expect(!page.body.contains("example.org"), "no member data on the dashboard")

        // The DOM as Chromium builds it.
        let dom = try await Shell.run(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", admin + "/"], timeout: 120)
        #expect(dom.status == 0, "\(dom.stderr.suffix(400))")
        let html = dom.stdout
        for id in ["problems", "chart", "actions", "rejections", "quarantine", "projections", "log", "sync"] {
            #expect(html.contains("<section id=\"\(id)\">"), "section \(id)")
        }
        #expect(html.components(separatedBy: "<rect class=\"bar\"").count - 1 == 168)
        #expect(html.contains("<td>CoworkerCreate</td>"))
        #expect(html.contains("<span class=\"state disabled-in-Nexudus\">disabled in Nexudus</span>"))
        #expect(html.contains("<span class=\"state never\">never</span>"))
        #expect(html.contains("Wrong secret?"))
        #expect(html.contains("<td>coworkers</td><td>2026-06-01T10:02:00.0000000Z</td><td class=\"n\">120</td><td class=\"n\">7</td>"))
        #expect(html.contains("sync failing: bookings: HTTP 500 after 5 retries"))

        let path = Self.screenshotPath
        try? FileManager.default.removeItem(atPath: path)
        let shot = try await Shell.run(browser, [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,2300",
            "--screenshot=\(path)", admin + "/",
        ], timeout: 120)
        #expect(shot.status == 0, "\(shot.stderr.suffix(400))")
        let png = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(png.count > 20_000)
    }
}

enum OperationsTestsSupport {
    static func adminPort(of server: RunningServer) async throws -> Int {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let text = server.standardOutput
            if let range = text.range(of: #"admin on http://[^:]+:(\d+)"#, options: .regularExpression),
               let port = Int(text[range].split(separator: ":").last!) {
                return port
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw OperationsTests.Timeout(what: "the admin listener")
    }
}

/// A child process with a deadline, for tools the tests drive (Chromium, apt-get).
enum Shell {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    struct Failure: Error, CustomStringConvertible { let message: String; var description: String { message } }

    static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval) async throws -> Result {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("shell-\(UUID().uuidString)")
        let out = base.appendingPathExtension("out"), err = base.appendingPathExtension("err")
        defer {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(at: err)
        }
        let process = try ChildProcess(executable, arguments, standardOutput: out.path, standardError: err.path)
        let finished = await eventually(within: timeout) { !process.isRunning }
        guard finished else {
            process.signal(SIGKILL)
            process.exitBlocking()
            throw Failure(message: "\(executable) did not finish within \(Int(timeout)) s")
        }
        return Result(
            status: await process.exit(),
            stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self))
    }
}
