import Foundation
import NexMirrorStore
import NexMirrorTestSupport
import NexudusStandIn
import Testing

/// A PostgreSQL mirror beside a running stand-in of the Nexudus API (SPEC §7 on §6's store).
/// The token file is named with --token-file: on PostgreSQL there is no directory beside the
/// database to keep it in.
final class PostgresSyncMirror {
    let scratch = Scratch()
    let account: NexudusAccount
    let api: StandInServer
    let url: String
    static let user = "ops@example.com"
    static let password = "pä55 word&more"

    var tokenFile: String { scratch.path("nexmirror.nexudus") }
    /// A SQLite mirror of the same account, for comparing replicas.
    var sqlite: String { scratch.path("mirror.sqlite") }

    init() async throws {
        url = try PostgresCluster.makeDatabase()
        account = NexudusAccount()
        account.addUser(Self.user, password: Self.password)
        account.seedSample()
        api = try await StandInServer.start(account)
    }

    deinit {
        let api = self.api
        Task { await api.stop() }
    }

    /// Environment for the CLI: the stand-in's URL, the PostgreSQL database and, unless
    /// `password` is false, credentials.
    func environment(password: Bool = true) -> [String: String] {
        var environment = ["NEXUDUS_API_URL": api.baseURL, "NEXMIRROR_DB": url]
        if password {
            environment["NEXUDUS_USERNAME"] = Self.user
            environment["NEXUDUS_PASSWORD"] = Self.password
        }
        return environment
    }

    @discardableResult
    func run(_ arguments: [String], password: Bool = true) async throws -> CommandResult {
        try await CLI.run(arguments, environment: environment(password: password))
    }

    /// `sync` on PostgreSQL at 10 requests/s, the cap, so tests stay short.
    @discardableResult
    func sync(_ extra: [String] = [], password: Bool = true) async throws -> CommandResult {
        try await run(["sync", "--requests-per-minute", "600", "--token-file", tokenFile] + extra, password: password)
    }

    /// The same sync into the SQLite mirror (its token file the default one beside it).
    @discardableResult
    func syncSQLite(_ extra: [String] = []) async throws -> CommandResult {
        try await CLI.run(["sync", "--requests-per-minute", "600", "--db", sqlite] + extra, environment: environment())
    }

    func psql(_ sql: String) throws -> String { try PostgresCluster.psql(url, sql) }

    func count(_ sql: String) throws -> Int { Int(try psql(sql)) ?? -1 }

    /// The summary lines without their timing, which is each run's own.
    static func summary(_ result: CommandResult) -> [String] {
        result.output.split(separator: "\n").filter { !$0.hasPrefix("sync: ") }
            .map { String($0.prefix { $0 != "(" }) }
    }
}

@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresSyncTests {
    /// Queries whose output must agree between the backends after the same sync.
    static let replicaQueries = [
        "SELECT id, unique_id, created_on, updated_on, email, full_name, active, archived, tariff_name, data FROM coworkers ORDER BY id",
        "SELECT id, updated_on, coworker_id, resource_name, from_time, to_time, tentative, data FROM bookings ORDER BY id",
        "SELECT id, name, business_id, paying_member_id, data FROM teams ORDER BY id",
        "SELECT team_id, coworker_id FROM team_members ORDER BY team_id, coworker_id",
        "SELECT entity_type, id, action, updated_on, data FROM entities ORDER BY entity_type, id",
        "SELECT entity_type, id, updated_on FROM tombstones ORDER BY entity_type, id",
        "SELECT seq, action, entity_type, entity_id, updated_on, source, signature, status FROM events ORDER BY seq",
        "SELECT kind, listed, fetched, new, changed, deleted, unchanged, error FROM sync_state ORDER BY kind",
    ]

    static func expectSameReplica(_ mirror: PostgresSyncMirror, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for sql in replicaQueries {
            let fromPostgres = try await CLI.run(["query", "--format", "csv", "--db", mirror.url, sql])
            let fromSQLite = try await CLI.run(["query", "--format", "csv", "--db", mirror.sqlite, sql])
            #expect(fromPostgres.status == 0, "\(sql): \(fromPostgres.stderr)", sourceLocation: sourceLocation)
            #expect(fromPostgres.output == fromSQLite.output, "\(sql)\n\(fromPostgres.output)\n---\n\(fromSQLite.output)", sourceLocation: sourceLocation)
        }
        for report in ReportName.allCases.map(\.rawValue) {
            let fromPostgres = try await CLI.run(["export", report, "--db", mirror.url])
            let fromSQLite = try await CLI.run(["export", report, "--db", mirror.sqlite])
            #expect(fromPostgres.status == 0, "\(report): \(fromPostgres.stderr)", sourceLocation: sourceLocation)
            #expect(fromPostgres.stdout == fromSQLite.stdout, "\(report)", sourceLocation: sourceLocation)
        }
    }

    @Test func aFullSyncGivesTheSameReplicaAsOnSQLiteAndASecondAppendsNothing() async throws {
        let mirror = try await PostgresSyncMirror()
        mirror.account.addWebhook(business: 1, action: 3, url: "https://m.example.com/webhooks/CoworkerCreate", active: false)
        let result = try await mirror.sync()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("coworkers: listed 3, fetched 3, new 3, changed 0, deleted 0, unchanged 0"), "\(result.output)")
        let onSQLite = try await mirror.syncSQLite()
        #expect(onSQLite.status == 0, "\(onSQLite.stderr)")
        #expect(PostgresSyncMirror.summary(result) == PostgresSyncMirror.summary(onSQLite))
        try await Self.expectSameReplica(mirror)
        // Email is not in the partial list records: it comes from GET …/{id}, logged as received.
        #expect(try mirror.psql("SELECT string_agg(email, ',' ORDER BY id) FROM coworkers")
            == "member101@example.com,member102@example.com,member103@example.com")
        #expect(try mirror.psql("SELECT convert_from(body, 'UTF8') FROM events WHERE entity_type = 'Coworker' AND entity_id = 102")
            == String(decoding: mirror.account.body("spaces/coworkers", id: 102)!, as: UTF8.self))
        #expect(try mirror.count("SELECT count(*) FROM sync_state WHERE finished_at LIKE '____-__-__T__:__:__._______Z' AND error IS NULL") == 10)
        // The token file, 0600, holds the rotated refresh token, never the password; the
        // database holds no token.
        let attributes = try FileManager.default.attributesOfItem(atPath: mirror.tokenFile)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let token = try String(contentsOfFile: mirror.tokenFile, encoding: .utf8)
        #expect(token.contains("refresh_token") && !token.contains(PostgresSyncMirror.password))
        // status: the same drift per kind and the same "disabled in Nexudus" as on SQLite.
        var drift: [[[String]]] = []
        var disabled: [String?] = []
        var text: [[Substring]] = []
        for database in [mirror.url, mirror.sqlite] {
            let status = try await CLI.run(["status", "--format", "json", "--db", database])
            let report = try #require(try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any])
            drift.append((report["sync"] as? [[String: Any]] ?? []).map { kind in
                ["kind", "listed", "fetched", "new", "changed", "deleted", "unchanged", "drift"].map { "\(kind[$0] ?? "-")" }
            })
            disabled.append((report["actions"] as? [[String: Any]])?.first { $0["action"] as? String == "CoworkerCreate" }?["state"] as? String)
            let lines = try await CLI.run(["status", "--db", database]).output.split(separator: "\n")
            text.append(lines.filter { $0.hasPrefix("disabled") })
        }
        #expect(drift[0].count == 10 && drift[0] == drift[1], "\(drift)")
        #expect(drift[0].contains(["coworkers", "3", "3", "3", "0", "0", "0", "3"]), "\(drift)")
        #expect(disabled == ["disabled in Nexudus", "disabled in Nexudus"])
        #expect(text[0] == ["disabled     in Nexudus: CoworkerCreate"] && text[0] == text[1], "\(text)")
        // `check` finds the replica equal to a fresh fold of the log.
        let check = try await CLI.run(["check", "--db", mirror.url])
        #expect(check.status == 0, "\(check.output)\(check.stderr)")

        let events = try mirror.count("SELECT count(*) FROM events")
        let again = try await mirror.sync(password: false)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.output.contains("coworkers: listed 3, fetched 0, new 0, changed 0, deleted 0, unchanged 3"), "\(again.output)")
        #expect(try mirror.count("SELECT count(*) FROM events") == events)
        #expect(try String(contentsOfFile: mirror.tokenFile, encoding: .utf8) != token)
    }

    @Test func batchesAndTheirFallbackGiveTheSameReplicaAsOnSQLite() async throws {
        let mirror = try await PostgresSyncMirror()
        for n in Int64(0)..<100 {
            mirror.account.putSampleCoworker(id: 10_000 + n, updatedOn: "2025-06-01T00:00:00Z")
            mirror.account.putSampleBooking(id: 200_000 + n, updatedOn: "2025-06-03T00:00:00Z")
        }
        let result = try await mirror.sync()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.output.contains("one record per request"), "\(result.output)")
        #expect(result.output.contains("bookings: listed 102, fetched 102, new 102, changed 0, deleted 0, unchanged 0"), "\(result.output)")
        // One batch and the check's three single GETs, not 103 single GETs.
        #expect(mirror.account.requests.filter { $0.path.hasPrefix("spaces/coworkers/") }.count == 1 + 3)
        #expect(try mirror.psql("SELECT string_agg(kind || ':' || fetch_mode, ',' ORDER BY kind) FROM sync_state WHERE fetch_mode IS NOT NULL")
            == "bookings:batch,coworkers:batch")
        for id in [Int64(101), 10_050, 200_099] {
            let path = id < 200_000 ? "spaces/coworkers" : "spaces/bookings"
            #expect(try mirror.psql("SELECT convert_from(body, 'UTF8') FROM events WHERE entity_id = \(id)")
                == String(decoding: mirror.account.body(path, id: id)!, as: UTF8.self))
        }
        let onSQLite = try await mirror.syncSQLite()
        #expect(PostgresSyncMirror.summary(result) == PostgresSyncMirror.summary(onSQLite))
        try await Self.expectSameReplica(mirror)

        // Batch answers turn partial: each backend falls back to single GETs and logs whole records.
        mirror.account.serveBatches(.partial)
        for n in Int64(0)..<20 { mirror.account.putSampleCoworker(id: 20_000 + n, updatedOn: "2025-07-01T00:00:00Z") }
        let partial = try await mirror.sync(["--entity", "coworkers"])
        #expect(partial.status == 0, "\(partial.stderr)")
        #expect(partial.output.contains("coworkers: fetching one record per request (GET …/{id}), not in batches: the batch answer's records differ"), "\(partial.output)")
        #expect(partial.output.contains("coworkers: listed 123, fetched 20, new 20"), "\(partial.output)")
        let partialOnSQLite = try await mirror.syncSQLite(["--entity", "coworkers"])
        #expect(PostgresSyncMirror.summary(partial) == PostgresSyncMirror.summary(partialOnSQLite))
        try await Self.expectSameReplica(mirror)
        #expect(try mirror.psql("SELECT fetch_mode FROM sync_state WHERE kind = 'coworkers'") == "single")
        #expect(try mirror.count("""
            SELECT count(*) FROM events WHERE entity_type = 'Coworker' AND entity_id >= 20000
                AND convert_from(body, 'UTF8') LIKE '%"Email":"member%'
            """) == 20)
        let status = try await CLI.run(["status", "--db", mirror.url])
        #expect(status.output.contains("single: the batch answer's records differ"), "\(status.output)")
    }

    @Test func aDryRunWritesNothingNotEvenTheSchema() async throws {
        let mirror = try await PostgresSyncMirror()
        // A database nexmirror never opened: nothing is held, and no table is created.
        let first = try await mirror.sync(["--dry-run"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.output.contains("coworkers: listed 3, fetched 0, new 3, changed 0, deleted 0, unchanged 0 "), "\(first.output)")
        #expect(first.output.contains("[dry run]"))
        #expect(try mirror.count("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()") == 0)
        #expect(!FileManager.default.fileExists(atPath: mirror.tokenFile))
        #expect(!mirror.account.requests.contains { $0.path.hasPrefix("spaces/coworkers/") })

        #expect(try await mirror.sync().status == 0)
        mirror.account.delete("spaces/bookings", id: 202)
        mirror.account.putSampleCoworker(id: 104, updatedOn: "2025-09-02T00:00:00Z")
        mirror.account.putSampleCoworker(id: 102, updatedOn: "2025-09-01T00:00:00Z", email: "new@example.com")
        let ledger = "SELECT count(*) || ' ' || max(seq) FROM events UNION ALL SELECT string_agg(concat_ws(',', kind, started_at, finished_at, error, listed, new, changed, deleted), ';' ORDER BY kind) FROM sync_state"
        let before = try mirror.psql(ledger)
        let fetchesBefore = mirror.account.requests.filter { $0.path.hasPrefix("spaces/coworkers/") }.count
        let dry = try await mirror.sync(["--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.output.contains("coworkers: listed 4, fetched 0, new 1, changed 1, deleted 0, unchanged 2"), "\(dry.output)")
        #expect(dry.output.contains("bookings: listed 1, fetched 0, new 0, changed 0, deleted 1, unchanged 1"), "\(dry.output)")
        #expect(try mirror.psql(ledger) == before)
        #expect(try mirror.count("SELECT count(*) FROM bookings WHERE id = 202") == 1)
        #expect(mirror.account.requests.filter { $0.path.hasPrefix("spaces/coworkers/") }.count == fetchesBefore)
    }

    @Test func recordsGoneFromTheAPIAreTombstonedThroughTheLog() async throws {
        let mirror = try await PostgresSyncMirror()
        #expect(try await mirror.sync().status == 0)
        #expect(try await mirror.syncSQLite().status == 0)
        for account in [mirror.account] {
            account.delete("spaces/bookings", id: 202)
            account.delete("spaces/resources", id: 70)
        }
        let kinds = ["--entity", "bookings", "--entity", "resources"]
        let result = try await mirror.sync(kinds)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("bookings: listed 1, fetched 0, new 0, changed 0, deleted 1, unchanged 1"), "\(result.output)")
        #expect(result.output.contains("resources: listed 0, fetched 0, new 0, changed 0, deleted 1, unchanged 0"), "\(result.output)")
        #expect(try mirror.count("SELECT count(*) FROM bookings WHERE id = 202") == 0)
        #expect(try mirror.count("SELECT count(*) FROM entities WHERE entity_type = 'Resource'") == 0)
        // Final tombstones (no UpdatedOn), the resource's logged as the API's 404.
        #expect(try mirror.psql("SELECT string_agg(entity_type || ':' || id || ':' || coalesce(updated_on, 'final'), ' ' ORDER BY entity_type) FROM tombstones")
            == "Booking:202:final Resource:70:final")
        #expect(try mirror.psql("SELECT action || ' ' || source || ' ' || convert_from(body, 'UTF8') FROM events WHERE signature = 'api-404' AND entity_type = 'Resource'")
            == "None api {\"Id\":70}")
        // The same as SQLite's for the same sync.
        #expect(try await mirror.syncSQLite(kinds).status == 0)
        try await Self.expectSameReplica(mirror)
        // Detecting it again appends nothing; rebuild reproduces it from the log.
        let events = try mirror.count("SELECT count(*) FROM events")
        let again = try await mirror.sync(kinds)
        #expect(again.output.contains("bookings: listed 1, fetched 0, new 0, changed 0, deleted 0, unchanged 1"), "\(again.output)")
        #expect(try mirror.count("SELECT count(*) FROM events") == events)
        #expect(try await mirror.run(["rebuild"]).status == 0)
        #expect(try mirror.count("SELECT count(*) FROM tombstones WHERE updated_on IS NULL") == 2)
    }

    @Test func statusShowsTheDriftAndAWebhookDisabledInNexudus() async throws {
        let mirror = try await PostgresSyncMirror()
        #expect(try await mirror.sync().status == 0)
        // While webhooks were off: 102 changes, 104 joins, 103 is deleted.
        mirror.account.putSampleCoworker(id: 102, updatedOn: "2025-09-01T00:00:00Z", email: "new@example.com")
        mirror.account.putSampleCoworker(id: 104, updatedOn: "2025-09-02T00:00:00Z")
        mirror.account.delete("spaces/coworkers", id: 103)
        let result = try await mirror.sync(["--entity", "coworkers"])
        #expect(result.output.contains("coworkers: listed 3, fetched 2, new 1, changed 1, deleted 1, unchanged 1"), "\(result.output)")
        let status = try await mirror.run(["status", "--format", "json"])
        #expect(status.status == 0, "\(status.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any])
        let coworkers = try #require((report["sync"] as? [[String: Any]])?.first { $0["kind"] as? String == "coworkers" })
        #expect(coworkers["new"] as? Int == 1)
        #expect(coworkers["changed"] as? Int == 1)
        #expect(coworkers["deleted"] as? Int == 1)
        #expect(coworkers["drift"] as? Int == 3)
        #expect(coworkers["finished_at"] as? String != nil)

        // `webhooks` records what the API lists; status then names the disabled one.
        mirror.account.addWebhook(business: 1, action: 57, url: "https://m.example.com/webhooks/TeamCreated", active: false, errorCount: 10)
        let listed = try await mirror.run(["webhooks", "--token-file", mirror.tokenFile], password: false)
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.output.contains("TeamCreated\thttps://m.example.com/webhooks/TeamCreated\tno\t10"), "\(listed.output)")
        #expect(try mirror.psql("SELECT action || ':' || active || ':' || business_id || ':' || error_count FROM nexudus_webhooks")
            == "TeamCreated:0:1:10")
        let check = try await mirror.run(["status", "--check"])
        #expect(check.status == 3, "\(check.stderr)")
        #expect(check.output.contains("disabled in Nexudus: every webhook for TeamCreated is inactive"), "\(check.output)")
        let json = try await mirror.run(["status", "--format", "json"])
        let after = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        let actions = after["actions"] as? [[String: Any]] ?? []
        #expect(actions.first { $0["action"] as? String == "TeamCreated" }?["state"] as? String == "disabled in Nexudus")
    }

    @Test func serveSyncsAtStartWhileDeliveriesKeepBeingAccepted() async throws {
        let mirror = try await PostgresSyncMirror()
        for id in Int64(400)..<430 { mirror.account.putSampleBooking(id: id, updatedOn: "2025-07-01T00:00:00Z") }
        // Members who join while the sync runs: listed by the API, and delivered by webhook.
        for id in Int64(900)..<910 { mirror.account.putSampleCoworker(id: id, updatedOn: "2025-10-01T00:00:00Z") }
        let server = try await RunningServer(
            arguments: [
                "--db", mirror.url, "--insecure-no-signature", "--sync-every", "1h", "--requests-per-minute", "600",
                "--token-file", mirror.tokenFile,
            ],
            environment: mirror.environment())
        // Deliveries during the background sync are answered at once.
        var accepted = 0
        for id in Int64(900)..<910 {
            let answer = try await HTTP.post(
                "\(server.baseURL)/webhooks/CoworkerCreate", body: mirror.account.webhookBody("spaces/coworkers", id: id)!)
            if answer.status == 200 { accepted += 1 }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(accepted == 10)
        try await poll(timeout: 60) { try mirror.count("SELECT count(*) FROM sync_state WHERE finished_at IS NOT NULL") == 10 }
        #expect(try mirror.count("SELECT count(*) FROM sync_state WHERE finished_at IS NOT NULL AND error IS NULL") == 10)
        try await waitUntilFolded(mirror.url)
        #expect(try mirror.count("SELECT count(*) FROM bookings") == 32)
        // The API's three coworkers and the ten who joined, each held once.
        #expect(try mirror.count("SELECT count(*) FROM coworkers") == 13)
        #expect(try mirror.count("SELECT count(*) FROM events WHERE source = 'webhook'") == 10)
        // A full sync also records the account's webhooks (none here) without failing.
        #expect(!server.standardError.contains("sync failed"), "\(server.standardError)")
        #expect(await server.stop() == 0)
    }
}

extension PostgresSyncTests {
    @Test func aFailingBackgroundSyncIsRecordedAndIngestGoesOn() async throws {
        let mirror = try await PostgresSyncMirror()
        var environment = mirror.environment()
        environment["NEXUDUS_PASSWORD"] = "not-the-password"
        let server = try await RunningServer(
            arguments: ["--db", mirror.url, "--insecure-no-signature", "--sync-every", "1h", "--token-file", mirror.tokenFile],
            environment: environment)
        try await poll { try mirror.count("SELECT count(*) FROM sync_state WHERE error IS NOT NULL") > 0 }
        #expect(try mirror.psql("SELECT error FROM sync_state").contains("invalid_grant"))
        let answer = try await HTTP.post(
            "\(server.baseURL)/webhooks/CoworkerCreate", body: Array(#"[{"Id":999,"UpdatedOn":"2025-01-01T00:00:00Z"}]"#.utf8))
        #expect(answer.status == 200)
        let status = try await mirror.run(["status", "--format", "json"])
        let report = try #require(try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any])
        #expect((report["sync"] as? [[String: Any]])?.first?["error"] as? String != nil, "\(status.output)")
        #expect(await server.stop() == 0)
    }
}

extension PostgresSyncTests {
    @Test func aDatabaseErrorInTheLedgerIsOneLineWithPostgreSQLsReason() async throws {
        let mirror = try await PostgresSyncMirror()
        #expect(try await mirror.sync(["--entity", "coworkers"]).status == 0)
        _ = try mirror.psql("ALTER TABLE sync_state RENAME TO sync_state_elsewhere")
        let sync = try await mirror.sync(["--entity", "coworkers"])
        #expect(sync.status != 0)
        #expect(sync.stderr.contains(#"cannot record the start of the coworkers sync in sync_state: relation "sync_state" does not exist"#), "\(sync.stderr)")
        #expect(!sync.stderr.contains("PSQLError"), "\(sync.stderr)")
        #expect(sync.stderr.split(separator: "\n").count == 1, "\(sync.stderr)")

        _ = try mirror.psql("ALTER TABLE nexudus_webhooks RENAME TO nexudus_webhooks_elsewhere")
        let webhooks = try await mirror.run(["webhooks", "--token-file", mirror.tokenFile], password: false)
        #expect(webhooks.status != 0)
        #expect(webhooks.stderr.contains(#"cannot record the account's webhooks in nexudus_webhooks: relation "nexudus_webhooks" does not exist"#), "\(webhooks.stderr)")
        #expect(!webhooks.stderr.contains("PSQLError"), "\(webhooks.stderr)")
        #expect(webhooks.stderr.split(separator: "\n").count == 1, "\(webhooks.stderr)")
    }
}

/// `webhooks setup` on a PostgreSQL mirror, against the stand-in's `/sys/webhooks`.
extension PostgresSyncTests {
    static let base = "https://mirror.example.com"
    /// The projected actions per location (SPEC §4.2 tables), as in WebhookSetupTests.
    static let projected = 33

    @Test func webhooksSetupCreatesAndReEnablesRecordsThemAndASecondRunChangesNothing() async throws {
        let mirror = try await PostgresSyncMirror()
        mirror.account.addWebhook(business: 1, action: 3, url: "\(Self.base)/webhooks/CoworkerCreate", active: true)
        let disabled = mirror.account.addWebhook(
            business: 1, action: 6, url: "\(Self.base)/webhooks/BookingCreate", active: false, errorCount: 10)
        mirror.account.addWebhook(business: 1, action: 7, url: "https://elsewhere.example.com/hook", active: true)
        let setup = ["webhooks", "setup", "--url", Self.base, "--requests-per-minute", "600", "--token-file", mirror.tokenFile]

        // A dry run on a database nexmirror never opened: it says what it would do and writes nothing.
        let dry = try await mirror.run(setup + ["--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.output.contains("would re-enable BookingCreate for business 1"), "\(dry.output)")
        #expect(dry.output.contains("dry run: \(2 * Self.projected - 1) to change, 1 already active"), "\(dry.output)")
        #expect(mirror.account.ids("sys/webhooks").count == 3)
        #expect(try mirror.count("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()") == 0)
        #expect(!FileManager.default.fileExists(atPath: mirror.tokenFile))

        let first = try await mirror.run(setup)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.output.contains("\(2 * Self.projected - 2) created, 1 re-enabled, 1 already active"), "\(first.output)")
        #expect(first.output.contains("re-enabled BookingCreate for business 1 at \(Self.base)/webhooks/BookingCreate"))
        #expect(mirror.account.webhook(id: disabled)?["Active"] as? Bool == true)
        let total = 3 + 2 * Self.projected - 2
        #expect(mirror.account.ids("sys/webhooks").count == total)
        // What the API lists after the changes is recorded, the webhook pointing elsewhere too.
        #expect(try mirror.count("SELECT count(*) FROM nexudus_webhooks") == total)
        #expect(try mirror.count("SELECT count(*) FROM nexudus_webhooks WHERE active = 0") == 0)
        #expect(try mirror.count("SELECT count(*) FROM nexudus_webhooks WHERE url = 'https://elsewhere.example.com/hook'") == 1)
        #expect(try mirror.psql("SELECT action || ':' || business_id || ':' || active FROM nexudus_webhooks WHERE id = \(disabled)")
            == "BookingCreate:1:1")

        let coverage = try await mirror.run(["webhooks", "--url", Self.base, "--token-file", mirror.tokenFile], password: false)
        #expect(coverage.status == 0, "\(coverage.stderr)")
        let recorded = try mirror.psql("SELECT string_agg(id || ':' || action || ':' || active || ':' || url, ' ' ORDER BY id) FROM nexudus_webhooks")
        let again = try await mirror.run(setup, password: false)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.output.contains("0 created, 0 re-enabled, \(2 * Self.projected) already active"), "\(again.output)")
        #expect(mirror.account.ids("sys/webhooks").count == total)
        #expect(try mirror.psql("SELECT string_agg(id || ':' || action || ':' || active || ':' || url, ' ' ORDER BY id) FROM nexudus_webhooks")
            == recorded)
    }
}
