import Foundation
import GRDB
import NexMirrorTestSupport
import NexudusFixtures
import NexudusStandIn
import Testing

/// `nexmirror sync` against the in-repo stand-in of the Nexudus REST API (SPEC §7).
@Suite struct SyncTests {
    @Test func aMirrorSwitchedOnLateHoldsEveryRecordAsTheFullRecordGivesIt() async throws {
        // Pages of 2 although 1000 are asked: the client must read CurrentPageSize back.
        let mirror = try await SyncMirror.start(maxPageSize: 2)
        let result = try await mirror.sync()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("coworkers: listed 3, fetched 3, new 3, changed 0, deleted 0, unchanged 0"))
        #expect(result.output.contains("bookings: listed 2, fetched 2, new 2"))
        #expect(result.output.contains("resources: listed 1, fetched 1, new 1"))
        // Email is not in the partial list records: it comes from GET …/{id}.
        #expect(try mirror.strings("SELECT email FROM coworkers ORDER BY id") == [
            "member101@example.com", "member102@example.com", "member103@example.com",
        ])
        #expect(try mirror.count("SELECT count(*) FROM team_members WHERE team_id = 301") == 2)
        #expect(try mirror.strings("SELECT entity_type || ':' || id FROM entities ORDER BY entity_type, id") == [
            "Business:1", "Business:2", "Resource:70", "Tariff:50",
        ])
        #expect(try mirror.strings("SELECT updated_on FROM bookings WHERE id = 201") == ["2025-04-01T08:00:00.1234567Z"])
        // Each record is logged with its exact bytes, source 'api'.
        let body = try mirror.read { try Data.fetchOne($0, sql: "SELECT body FROM events WHERE entity_type = 'Coworker' AND entity_id = 102") }
        #expect(body.map(Array.init) == mirror.account.body("spaces/coworkers", id: 102))
        #expect(try mirror.count("SELECT count(*) FROM events WHERE source <> 'api'") == 0)
        #expect(try mirror.strings("SELECT DISTINCT action FROM events WHERE entity_type = 'Resource'") == ["None"])
        // Drift per kind, with the time of the sync.
        let state = try mirror.read { try Row.fetchOne($0, sql: "SELECT * FROM sync_state WHERE kind = 'coworkers'") }
        #expect(state?["new"] == 3)
        #expect(state?["listed"] == 3)
        #expect((state?["finished_at"] as String?) != nil)
        #expect((state?["error"] as String?) == nil)
        // rebuild reproduces the replica from the log.
        let before = try mirror.strings("SELECT data FROM coworkers ORDER BY id")
        #expect(try await mirror.run(["rebuild"]).status == 0)
        #expect(try mirror.strings("SELECT data FROM coworkers ORDER BY id") == before)
    }

    @Test func aSecondRunAppendsNothingAndNeedsNoPassword() async throws {
        let mirror = try await SyncMirror.start()
        mirror.account.addWebhook(business: 1, action: 3, url: "https://m.example.com/webhooks/CoworkerCreate", active: false)
        #expect(try await mirror.sync().status == 0)
        let events = try mirror.count("SELECT count(*) FROM events")
        // A full sync also records the account's webhooks, for "disabled in Nexudus".
        #expect(try mirror.strings("SELECT action || ':' || active || ':' || business_id FROM nexudus_webhooks") == ["CoworkerCreate:0:1"])
        // The token file holds the mirror's client id and the rotated refresh token, 0600.
        let attributes = try FileManager.default.attributesOfItem(atPath: mirror.tokenFile)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let token = try String(contentsOfFile: mirror.tokenFile, encoding: .utf8)
        #expect(token.contains("refresh_token") && !token.contains(SyncMirror.password))
        let again = try await mirror.sync(password: false)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.output.contains("coworkers: listed 3, fetched 0, new 0, changed 0, deleted 0, unchanged 3"))
        #expect(try mirror.count("SELECT count(*) FROM events") == events)
        // The old refresh token was rotated away: the file holds a new one.
        #expect(try String(contentsOfFile: mirror.tokenFile, encoding: .utf8) != token)
    }

    @Test func aWebhookDisabledForAWhileIsRepairedAndDriftRecorded() async throws {
        let mirror = try await SyncMirror.start()
        let server = try await RunningServer(arguments: ["--db", mirror.db, "--insecure-no-signature"])
        for id in Int64(101)...103 {
            let answer = try await HTTP.post(
                "\(server.baseURL)/webhooks/CoworkerCreate", body: mirror.account.webhookBody("spaces/coworkers", id: id)!)
            #expect(answer.status == 200)
        }
        // While the webhook is disabled: 102 changes, 104 joins, nothing is delivered.
        SyncMirror.putCoworker(mirror.account, id: 102, updatedOn: "2025-09-01T00:00:00Z", email: "new@example.com")
        SyncMirror.putCoworker(mirror.account, id: 104, updatedOn: "2025-09-02T00:00:00Z")
        let result = try await mirror.sync(["--entity", "coworkers"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("coworkers: listed 4, fetched 2, new 1, changed 1, deleted 0, unchanged 2"))
        #expect(try mirror.strings("SELECT email FROM coworkers WHERE id = 102") == ["new@example.com"])
        #expect(try mirror.count("SELECT count(*) FROM members") == 4)
        // An older webhook that arrives after the sync never undoes it.
        let stale = Array(#"[{"Id":102,"FullName":"Member 102","Email":"old@example.com","UpdatedOn":"2025-03-02T10:00:00Z"}]"#.utf8)
        let staleAnswer = try await HTTP.post("\(server.baseURL)/webhooks/CoworkerUpdate", body: stale)
        #expect(staleAnswer.status == 200)
        // Checked once the background fold has gone past the stale delivery.
        let staleSeq = try #require(staleAnswer.json["seq"] as? Int)
        #expect(try await eventually { try mirror.count("SELECT min(checkpoint) FROM projections") >= staleSeq })
        #expect(try mirror.strings("SELECT email FROM coworkers WHERE id = 102") == ["new@example.com"])
        await server.stop()
    }

    @Test func deletionsMissedByWebhooksAreTombstonedForGood() async throws {
        let mirror = try await SyncMirror.start()
        #expect(try await mirror.sync().status == 0)
        mirror.account.delete("spaces/bookings", id: 202)
        let result = try await mirror.sync(["--entity", "bookings"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("bookings: listed 1, fetched 0, new 0, changed 0, deleted 1, unchanged 1"))
        #expect(try mirror.count("SELECT count(*) FROM bookings WHERE id = 202") == 0)
        #expect(try mirror.strings("SELECT updated_on FROM tombstones WHERE entity_type = 'Booking' AND id = 202") == [nil])
        // A late webhook of any version does not bring it back; detecting it again appends nothing.
        let late = Array(#"[{"Id":202,"UpdatedOn":"2030-01-01T00:00:00Z"}]"#.utf8)
        let file = mirror.scratch.path("late.json")
        try Data(late).write(to: URL(fileURLWithPath: file))
        #expect(try await mirror.run(["import", "--action", "BookingUpdate", file]).status == 0)
        #expect(try mirror.count("SELECT count(*) FROM bookings WHERE id = 202") == 0)
        let events = try mirror.count("SELECT count(*) FROM events")
        #expect(try await mirror.sync(["--entity", "bookings"]).status == 0)
        #expect(try mirror.count("SELECT count(*) FROM events") == events)
    }

    @Test func syncWhileWebhooksKeepArrivingConvergesToTheNewestVersions() async throws {
        let mirror = try await SyncMirror.start()
        for id in Int64(400)..<440 { SyncMirror.putBooking(mirror.account, id: id, updatedOn: "2025-07-01T00:00:00Z") }
        let server = try await RunningServer(arguments: ["--db", mirror.db, "--insecure-no-signature"])
        let account = mirror.account
        let base = server.baseURL
        let deliveries = Task {
            for round in 1...20 {
                let id = Int64(400 + round % 40)
                SyncMirror.putBooking(account, id: id, updatedOn: "2025-08-01T00:00:\(String(format: "%02d", round))Z", resource: "Room \(round)")
                _ = try await HTTP.post("\(base)/webhooks/BookingUpdate", body: account.webhookBody("spaces/bookings", id: id)!)
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let result = try await mirror.sync(["--entity", "bookings"])
        try await deliveries.value
        #expect(result.status == 0, "\(result.stderr)")
        // Whatever the interleaving, each booking ends at the API's newest version.
        let want = account.ids("spaces/bookings").map { id -> String in
            let body = String(decoding: account.body("spaces/bookings", id: id)!, as: UTF8.self)
            return "\(id) " + body.components(separatedBy: "\"UpdatedOn\":\"")[1].prefix(19) + "Z"
        }
        let deadline = Date().addingTimeInterval(60)
        var got: [String?] = []
        while Date() < deadline {
            got = try mirror.strings("SELECT id || ' ' || substr(updated_on, 1, 19) || 'Z' FROM bookings ORDER BY id")
            if got == want.map(Optional.some) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(got == want.map(Optional.some))
        await server.stop()
    }

    @Test func dryRunListsAndComparesButWritesNothing() async throws {
        let mirror = try await SyncMirror.start()
        let result = try await mirror.sync(["--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("coworkers: listed 3, fetched 0, new 3, changed 0, deleted 0, unchanged 0 "))
        #expect(result.output.contains("[dry run]"))
        // Neither a database nor a token file is created (a first sign-in invalidates nothing).
        #expect(!FileManager.default.fileExists(atPath: mirror.db))
        #expect(!FileManager.default.fileExists(atPath: mirror.tokenFile))
        #expect(!mirror.account.requests.contains { $0.path.hasPrefix("spaces/coworkers/") })
    }

    @Test func aDryRunWritesNothingButKeepsTheRotatedTokenSoTheMirrorStaysSignedIn() async throws {
        let mirror = try await SyncMirror.start()
        #expect(try await mirror.sync().status == 0)
        mirror.account.delete("spaces/bookings", id: 202)
        SyncMirror.putCoworker(mirror.account, id: 104, updatedOn: "2025-09-02T00:00:00Z")
        let database = try Self.contents(of: mirror.db)
        let token = try String(contentsOfFile: mirror.tokenFile, encoding: .utf8)
        let requestsBefore = mirror.account.requests.count

        // Without the password: the stored refresh token is used, and Nexudus rotates it.
        let dry = try await mirror.sync(["--dry-run"], password: false)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.output.contains("coworkers: listed 4, fetched 0, new 1, changed 0, deleted 0, unchanged 3"))
        #expect(dry.output.contains("bookings: listed 1, fetched 0, new 0, changed 0, deleted 1, unchanged 1"))
        // The database files are byte for byte as they were: no log, replica, sync_state or
        // webhook rows, not even a checkpoint.
        #expect(try Self.contents(of: mirror.db) == database)
        // No full record fetched, no deletion confirmed.
        let during = mirror.account.requests.dropFirst(requestsBefore)
        #expect(!during.contains { $0.path.split(separator: "/").count == 3 })
        // The token file holds the new refresh token (the old one no longer works), still 0600,
        // and it is what the next run signs in with.
        let rotated = try String(contentsOfFile: mirror.tokenFile, encoding: .utf8)
        #expect(rotated != token)
        let attributes = try FileManager.default.attributesOfItem(atPath: mirror.tokenFile)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let next = try await mirror.sync(["--entity", "coworkers"], password: false)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.output.contains("coworkers: listed 4, fetched 1, new 1"))
    }

    /// The database file and its WAL (none and empty alike), as bytes.
    static func contents(of database: String) throws -> [Data] {
        [database, database + "-wal"].map { FileManager.default.contents(atPath: $0) ?? Data() }
    }

    @Test func resourcesAndBusinessesGoneFromTheAPIAreTombstonedThroughTheLog() async throws {
        let mirror = try await SyncMirror.start()
        #expect(try await mirror.sync().status == 0)
        mirror.account.delete("spaces/resources", id: 70)
        mirror.account.delete("sys/businesses", id: 2)
        let kinds = ["--entity", "resources", "--entity", "businesses"]
        let dry = try await mirror.sync(kinds + ["--dry-run"])
        #expect(dry.output.contains("resources: listed 0, fetched 0, new 0, changed 0, deleted 1, unchanged 0"), "\(dry.output)")
        let result = try await mirror.sync(kinds)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("resources: listed 0, fetched 0, new 0, changed 0, deleted 1, unchanged 0"), "\(result.output)")
        #expect(result.output.contains("businesses: listed 1, fetched 0, new 0, changed 0, deleted 1, unchanged 1"))
        #expect(try mirror.strings("SELECT entity_type || ':' || id FROM entities WHERE entity_type IN ('Business', 'Resource') ORDER BY 1") == ["Business:1"])
        // Logged as the API's 404 under the kind's record action (no catalog action deletes
        // them): the body is the bare id, so the tombstone is final.
        #expect(try mirror.strings("""
            SELECT action || ' ' || entity_type || ':' || entity_id || ' ' || source || ' ' || signature || ' ' || CAST(body AS TEXT)
            FROM events WHERE signature = 'api-404' ORDER BY seq
            """) == ["BusinessUpdate Business:2 api api-404 {\"Id\":2}", "None Resource:70 api api-404 {\"Id\":70}"])
        let tombstones = try await mirror.run([
            "query", "--format", "csv",
            "SELECT entity_type, id, updated_on IS NULL AS final FROM tombstones WHERE entity_type IN ('Business', 'Resource') ORDER BY 1",
        ])
        #expect(tombstones.output.split(whereSeparator: \.isNewline) == ["entity_type,id,final", "Business,2,1", "Resource,70,1"])

        // A later webhook of the business, however new its UpdatedOn, does not bring it back.
        let server = try await RunningServer(arguments: ["--db", mirror.db, "--insecure-no-signature"])
        let late = Array(#"[{"Id":2,"Name":"Basel","UpdatedOn":"2030-01-01T00:00:00Z"}]"#.utf8)
        let answer = try await HTTP.post("\(server.baseURL)/webhooks/BusinessUpdate", body: late)
        #expect(answer.status == 200)
        let seq = try #require(answer.json["seq"] as? Int)
        #expect(try await eventually { try mirror.count("SELECT min(checkpoint) FROM projections") >= seq })
        #expect(try mirror.count("SELECT count(*) FROM entities WHERE entity_type = 'Business' AND id = 2") == 0)
        await server.stop()

        // rebuild reproduces it from the log; detecting it again appends nothing.
        let replica = "SELECT entity_type || ':' || id || ':' || coalesce(updated_on, '-') FROM entities UNION ALL SELECT 'tombstone ' || entity_type || ':' || id FROM tombstones ORDER BY 1"
        let before = try mirror.strings(replica)
        #expect(try await mirror.run(["rebuild"]).status == 0)
        #expect(try mirror.strings(replica) == before)
        #expect(before.contains("tombstone Resource:70") && before.contains("tombstone Business:2"))
        let events = try mirror.count("SELECT count(*) FROM events")
        let again = try await mirror.sync(kinds)
        #expect(again.output.contains("resources: listed 0, fetched 0, new 0, changed 0, deleted 0, unchanged 0"))
        #expect(try mirror.count("SELECT count(*) FROM events") == events)
    }

    @Test func aRefusedPasswordIsOneClearLineThatNamesWhereItCameFrom() async throws {
        let mirror = try await SyncMirror.start()
        let result = try await CLI.run(["sync"], environment: [
            "NEXUDUS_API_URL": mirror.api.baseURL, "NEXMIRROR_DB": mirror.db,
            "NEXUDUS_USERNAME": SyncMirror.user, "NEXUDUS_PASSWORD": "wrong-secret-pw",
        ])
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("NEXUDUS_USERNAME/NEXUDUS_PASSWORD"))
        #expect(result.stderr.contains("invalid_grant"))
        #expect(!result.stderr.contains("wrong-secret-pw"))
        let noCredentials = try await mirror.sync(password: false)
        #expect(noCredentials.status == 1)
        #expect(noCredentials.stderr.contains("set NEXUDUS_USERNAME and NEXUDUS_PASSWORD"))
    }

    @Test func aTwoFactorUserSignsInWithTheCodeAndACredentialsFile() async throws {
        let mirror = try await SyncMirror.start()
        mirror.account.addUser("2fa@example.com", password: "s3cret", totp: "123456")
        let file = mirror.scratch.path("credentials")
        try Data("2fa@example.com\ns3cret\n".utf8).write(to: URL(fileURLWithPath: file))
        let base = ["NEXUDUS_API_URL": mirror.api.baseURL, "NEXMIRROR_DB": mirror.db]
        let arguments = ["sync", "--entity", "tariffs", "--requests-per-minute", "600", "--credentials-file", file]
        let withoutCode = try await CLI.run(arguments, environment: base)
        #expect(withoutCode.status == 1)
        #expect(withoutCode.stderr.contains("two_factor_auth_check"))
        #expect(withoutCode.stderr.contains("--credentials-file \(file)"))
        var withCode = base
        withCode["NEXUDUS_TOTP"] = "123456"
        let result = try await CLI.run(arguments, environment: withCode)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("tariffs: listed 1, fetched 1, new 1"))
    }

    @Test func serverErrorsAreRetriedThenStopWithOneLineAndTheErrorInSyncState() async throws {
        let mirror = try await SyncMirror.start()
        mirror.account.addFault(status: 503, count: 2, pathPrefix: "spaces/coworkers")
        #expect(try await mirror.sync(["--entity", "coworkers"]).status == 0)
        mirror.account.addFault(status: 500, count: 100, pathPrefix: "spaces/bookings")
        let failed = try await mirror.sync(["--entity", "bookings"])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("answered 500 5 times"), "\(failed.stderr)")
        let error = try mirror.strings("SELECT error FROM sync_state WHERE kind = 'bookings'")
        #expect(error.first??.contains("answered 500") == true)
        // The kind that completed keeps its figures.
        #expect(try mirror.strings("SELECT error FROM sync_state WHERE kind = 'coworkers'") == [nil])
    }
}

/// The politeness rules, measured at the stand-in: never faster than the cap, never earlier
/// than `Retry-After`, one refresh when the access token stops working.
@Suite struct SyncPolitenessTests {
    @Test func neverFasterThanTheCapNorEarlierThanRetryAfter() async throws {
        let mirror = try await SyncMirror.start()
        mirror.account.addFault(status: 409, retryAfter: "1", count: 1, afterRequests: 3)
        mirror.account.addFault(status: 503, count: 1, afterRequests: 6)
        mirror.account.revokeAccessTokens(afterRequests: 9)
        // Far more than the cap allows: the cap (10/s) must still hold.
        let result = try await mirror.run(["sync", "--requests-per-minute", "6000"])
        #expect(result.status == 0, "\(result.stderr)")
        // The first request's arrival also waits for the connection (and the HTTP client's
        // start), which shortens the first gap as seen here: measured from the second on.
        let log = Array(mirror.account.requests.dropFirst())
        #expect(log.count >= 25)
        // Spaced at 100 ms at the client. Arrival times here jitter by up to a few hundred ms
        // when the rest of the suite loads the machine, so the pace is checked over windows:
        // requests i and j arrive at least (j - i) × 100 ms apart, less one jitter allowance.
        Self.expectPace(log.map(\.at), interval: 0.1)
        let throttled = try #require(log.firstIndex { $0.status == 409 })
        #expect(log[throttled + 1].at - log[throttled].at >= 1.0)
        // The revoked token: one 401, a refresh (token request), then the request again.
        let refused = try #require(log.firstIndex { $0.status == 401 })
        #expect(log[refused + 1].path == "token")
        #expect(log[refused + 2].path == log[refused].path && log[refused + 2].status == 200)
        #expect(log.filter { $0.status == 401 }.count == 1)
    }

    @Test func theDefaultPaceIs120RequestsAMinute() async throws {
        let mirror = try await SyncMirror.start()
        let result = try await mirror.run(["sync", "--entity", "tariffs", "--entity", "resources"])
        #expect(result.status == 0, "\(result.stderr)")
        let log = mirror.account.requests
        #expect(log.count == 5)  // token, two lists, two records
        // Starts are 500 ms apart; arrivals jitter on a loaded machine (0.32 s seen during the
        // full suite), and the first one also waits for the connection: measured from the
        // second on. Four gaps of at least 1.6 s still tell 120/min from the 10/s cap (0.4 s).
        Self.expectPace(log.dropFirst().map(\.at), interval: 0.5, jitter: 0.4)
    }

    @Test func anHourlyBudgetStopsTheRunOnceSpentNotTheAPIs409() async throws {
        let mirror = try await SyncMirror.start()
        // A budget of 3 an hour: the token grant, the tariffs list and its record. Then the
        // resources list must wait for the first of them to leave the hour.
        // A child of its own rather than Foundation's Process, whose launch can crash the test
        // process (see ChildProcess).
        let process = try ChildProcess(
            CLI.binary.path,
            ["sync", "--entity", "tariffs", "--entity", "resources", "--requests-per-minute", "600", "--requests-per-hour", "3"],
            environment: mirror.environment().mapValues { $0 })
        defer { process.signal(SIGTERM); process.exitBlocking() }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, mirror.account.requests.count < 3 {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(mirror.account.requests.map(\.path) == ["token", "billing/tariffs", "billing/tariffs/50"])
        // At the pace (100 ms) the resources list and record would follow within 0.2 s: for
        // ten times that, nothing more arrives, and the run is still waiting, not failing.
        try await Task.sleep(for: .seconds(2))
        #expect(mirror.account.requests.count == 3)
        #expect(process.isRunning)
        let invalid = try await mirror.run(["sync", "--requests-per-hour", "0"])
        #expect(invalid.status != 0 && invalid.stderr.contains("--requests-per-hour must be positive"))
    }

    /// Every window of arrivals spans at least its number of gaps times `interval`, less
    /// `jitter` (one late arrival at the window's start shortens it by at most that much).
    static func expectPace(_ arrivals: [Double], interval: Double, jitter: Double = 0.3) {
        for i in arrivals.indices {
            for j in arrivals.indices where j > i {
                let span = arrivals[j] - arrivals[i]
                let least = Double(j - i) * interval - jitter
                #expect(span >= least, "requests \(i)...\(j) arrived within \(span) s, at least \(least) s expected")
            }
        }
    }
}
