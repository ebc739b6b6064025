import Foundation
import GRDB
import NexMirrorTestSupport
import NexudusFixtures
import NexudusStandIn
import Testing

/// `nexmirror webhooks` and `webhooks setup` against the stand-in's `/sys/webhooks`.
@Suite struct WebhookSetupTests {
    static let base = "https://mirror.example.com"
    /// The projected actions per location (SPEC §4.2 tables): 3+3+10+3+3+3+8.
    static let projected = 33

    @Test func reportsMissingAndDisabledThenSetupFixesThemIdempotently() async throws {
        let mirror = try await SyncMirror.start()
        mirror.account.addWebhook(business: 1, action: 3, url: "\(Self.base)/webhooks/CoworkerCreate", active: true)
        let disabled = mirror.account.addWebhook(
            business: 1, action: 6, url: "\(Self.base)/webhooks/BookingCreate", active: false, errorCount: 10)
        mirror.account.addWebhook(business: 1, action: 7, url: "https://elsewhere.example.com/hook", active: true)

        let report = try await mirror.run(["webhooks", "--url", Self.base])
        #expect(report.status == 3, "\(report.stderr)")
        #expect(report.output.contains("disabled: BookingCreate for business 1"))
        #expect(report.output.contains("missing: BookingUpdate for business 1"))
        #expect(report.output.contains("missing: CoworkerCreate for business 2"))
        #expect(!report.output.contains("CoworkerCreate for business 1 "))
        #expect(report.stderr.contains("webhooks setup --url"))
        // What the API listed is kept for `status` and the dashboard.
        #expect(try mirror.strings("SELECT action || ':' || active FROM nexudus_webhooks ORDER BY id") == [
            "CoworkerCreate:1", "BookingCreate:0", "BookingUpdate:1",
        ])

        let dry = try await mirror.run(["webhooks", "setup", "--url", Self.base, "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.output.contains("would re-enable BookingCreate for business 1"))
        #expect(mirror.account.ids("sys/webhooks").count == 3)

        let setup = try await mirror.run(["webhooks", "setup", "--url", Self.base, "--requests-per-minute", "600"])
        #expect(setup.status == 0, "\(setup.stderr)")
        #expect(setup.output.contains("\(2 * Self.projected - 2) created, 1 re-enabled, 1 already active"))
        #expect(mirror.account.webhook(id: disabled)?["Active"] as? Bool == true)
        #expect(mirror.account.ids("sys/webhooks").count == 3 + 2 * Self.projected - 2)

        #expect(try await mirror.run(["webhooks", "--url", Self.base]).status == 0)
        let again = try await mirror.run(["webhooks", "setup", "--url", Self.base, "--requests-per-minute", "600"])
        #expect(again.output.contains("0 created, 0 re-enabled, \(2 * Self.projected) already active"))
        #expect(try mirror.count("SELECT count(*) FROM nexudus_webhooks WHERE active = 0") == 0)
    }

    @Test func aDryRunCreatesNoDatabaseAndNoTokenFile() async throws {
        let mirror = try await SyncMirror.start()
        let disabled = mirror.account.addWebhook(business: 1, action: 6, url: "\(Self.base)/webhooks/BookingCreate", active: false)
        let dry = try await mirror.run(["webhooks", "setup", "--url", Self.base, "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.output.contains("would re-enable BookingCreate for business 1"), "\(dry.output)")
        #expect(dry.output.contains("would create CoworkerCreate for business 2"), "\(dry.output)")
        #expect(!FileManager.default.fileExists(atPath: mirror.db))
        #expect(!FileManager.default.fileExists(atPath: mirror.tokenFile))
        #expect(try FileManager.default.contentsOfDirectory(atPath: mirror.scratch.url.path).isEmpty)
        #expect(mirror.account.webhook(id: disabled)?["Active"] as? Bool == false)
        #expect(mirror.account.ids("sys/webhooks").count == 1)

        // On an existing database it leaves `nexudus_webhooks` as it was.
        #expect(try await mirror.run(["webhooks"]).status == 0)
        let recorded = try mirror.strings("SELECT action || ':' || active || ':' || seen_at FROM nexudus_webhooks")
        mirror.account.addWebhook(business: 2, action: 6, url: "\(Self.base)/webhooks/BookingCreate", active: true)
        #expect(try await mirror.run(["webhooks", "setup", "--url", Self.base, "--dry-run"], password: false).status == 0)
        #expect(try mirror.strings("SELECT action || ':' || active || ':' || seen_at FROM nexudus_webhooks") == recorded)
    }

    @Test func setupForOneLocationLeavesTheOthersAlone() async throws {
        let mirror = try await SyncMirror.start()
        let setup = try await mirror.run(["webhooks", "setup", "--url", Self.base + "/", "--business", "2", "--requests-per-minute", "600"])
        #expect(setup.status == 0, "\(setup.stderr)")
        #expect(setup.output.contains("\(Self.projected) created"))
        let unknown = try await mirror.run(["webhooks", "setup", "--url", Self.base, "--business", "99"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no location with id 99"))
    }
}

/// `serve --sync-every`: the reconcile in the background, ingest unaffected.
@Suite struct ServeSyncTests {
    @Test func serveSyncsAtStartAndKeepsIngesting() async throws {
        let mirror = try await SyncMirror.start()
        let server = try await RunningServer(
            arguments: ["--db", mirror.db, "--insecure-no-signature", "--sync-every", "1h", "--requests-per-minute", "600"],
            environment: mirror.environment())
        SyncMirror.putCoworker(mirror.account, id: 104, updatedOn: "2025-10-01T00:00:00Z")
        let answer = try await HTTP.post(
            "\(server.baseURL)/webhooks/CoworkerCreate", body: mirror.account.webhookBody("spaces/coworkers", id: 104)!)
        #expect(answer.status == 200)
        // A wait for the sync to finish, not a bound on it: a loaded machine may take minutes.
        try await eventually(within: 180) {
            try mirror.count("SELECT count(*) FROM sync_state WHERE finished_at IS NOT NULL") >= 10
        }
        #expect(try mirror.count("SELECT count(*) FROM sync_state WHERE finished_at IS NOT NULL") == 10)
        #expect(try mirror.count("SELECT count(*) FROM coworkers") == 4)
        await server.stop()
    }

    @Test func aFailingBackgroundSyncIsRecordedAndIngestGoesOn() async throws {
        let mirror = try await SyncMirror.start()
        var environment = mirror.environment()
        environment["NEXUDUS_PASSWORD"] = "not-the-password"
        let server = try await RunningServer(
            arguments: ["--db", mirror.db, "--insecure-no-signature", "--sync-every", "1h"], environment: environment)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, try mirror.count("SELECT count(*) FROM sync_state WHERE error IS NOT NULL") == 0 {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(try mirror.strings("SELECT error FROM sync_state").first??.contains("invalid_grant") == true)
        let answer = try await HTTP.post(
            "\(server.baseURL)/webhooks/CoworkerCreate", body: Array(#"[{"Id":999,"UpdatedOn":"2025-01-01T00:00:00Z"}]"#.utf8))
        #expect(answer.status == 200)
        #expect(await server.stop() == 0)
    }
}
