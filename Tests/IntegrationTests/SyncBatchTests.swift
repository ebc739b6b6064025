import Foundation
import GRDB
import NexMirrorTestSupport
import NexudusFixtures
import NexudusStandIn
import Testing

/// Full records in batches, `GET …/?id=[a,b,…]`, checked against single GETs first (SPEC §7).
@Suite struct SyncBatchTests {
    /// Where each kind lives at the API and in the replica.
    static let kinds: [(path: String, entityType: String, table: String)] = [
        ("sys/businesses", "Business", "entities"), ("billing/tariffs", "Tariff", "entities"),
        ("spaces/resources", "Resource", "entities"), ("spaces/coworkers", "Coworker", "coworkers"),
        ("spaces/teams", "Team", "teams"), ("billing/coworkercontracts", "CoworkerContract", "contracts"),
        ("billing/proposals", "Proposal", "proposals"), ("spaces/bookings", "Booking", "bookings"),
        ("spaces/checkins", "Checkin", "checkins"), ("billing/coworkerinvoices", "CoworkerInvoice", "invoices"),
    ]

    /// The sample account plus `scale` × (2 coworkers, 3 bookings, 1 invoice, 1 check-in).
    static func start(scale: Int) async throws -> SyncMirror {
        let mirror = try await SyncMirror.start()
        addRecords(mirror.account, scale: scale)
        return mirror
    }

    static func addRecords(_ account: NexudusAccount, scale: Int) {
        for n in 0..<Int64(scale) {
            account.putSampleCoworker(id: 10_000 + 2 * n, updatedOn: "2025-06-01T00:00:00Z")
            account.putSampleCoworker(id: 10_001 + 2 * n, updatedOn: "2025-06-02T00:00:00Z")
            for k in Int64(0)..<3 { account.putSampleBooking(id: 200_000 + 3 * n + k, updatedOn: "2025-06-03T00:00:00Z") }
            account.put("billing/coworkerinvoices", id: 3_000_000 + n, updatedOn: "2025-06-04T00:00:00Z", fields: [
                ("CoworkerId", 101), ("BusinessId", 1), ("InvoiceNumber", "INV-\(n)"), ("TotalAmount", Literal("120.00")),
                ("Paid", false), ("Void", false),
            ])
            account.put("spaces/checkins", id: 40_000_000 + n, updatedOn: "2025-06-05T00:00:00Z", fields: [
                ("CoworkerId", 102), ("BusinessId", 1), ("FromTime", "2025-06-05T08:00:00Z"), ("ToTime", nil),
            ])
        }
    }

    static var records: (NexudusAccount) -> Int {
        { account in kinds.map { account.ids($0.path).count }.reduce(0, +) }
    }

    /// The replica equals the account: per kind the same ids, each logged with the bytes
    /// `GET …/{id}` gives (nothing partial), and as many rows in the replica.
    static func expectMirrors(
        _ mirror: SyncMirror, only paths: Set<String>? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for kind in kinds where paths?.contains(kind.path) ?? true {
            let ids = mirror.account.ids(kind.path)
            let logged = try mirror.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT entity_id, body FROM events WHERE entity_type = ? AND signature <> 'api-404' ORDER BY seq
                    """, arguments: [kind.entityType])
            }
            var bodies: [Int64: Data] = [:]
            for row in logged { bodies[row[0]] = row[1] }
            #expect(bodies.keys.sorted() == ids, "\(kind.path)", sourceLocation: sourceLocation)
            let differing = ids.filter { bodies[$0].map(Array.init) != mirror.account.body(kind.path, id: $0) }
            #expect(differing.isEmpty, "\(kind.path): \(differing.count) logged bodies differ from GET …/{id}", sourceLocation: sourceLocation)
            let rows = kind.table == "entities"
                ? try mirror.count("SELECT count(*) FROM entities WHERE entity_type = '\(kind.entityType)'")
                : try mirror.count("SELECT count(*) FROM \(kind.table)")
            #expect(rows == ids.count, "\(kind.table)", sourceLocation: sourceLocation)
        }
    }

    @Test func aFirstSyncFetchesInBatchesAndEqualsTheAccount() async throws {
        let mirror = try await Self.start(scale: 150)
        let records = Self.records(mirror.account)
        let result = try await mirror.sync()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.output.contains("one record per request"), "\(result.output)")
        #expect(result.output.contains("bookings: listed 452, fetched 452, new 452, changed 0, deleted 0, unchanged 0"), "\(result.output)")
        try Self.expectMirrors(mirror)
        // Counted at the stand-in: list pages, batches, the check's single GETs, the few records
        // of the small kinds, the token.
        let log = mirror.account.requests
        let pages = Self.kinds.count + 1  // bookings: 452 fit one page of 1000; + the webhooks list
        #expect(log.count <= records / 20 + pages + 36, "\(log.count) requests for \(records) records")
        let batches = log.filter { $0.path.contains("?id=[") }
        #expect(batches.count >= 4)
        #expect(batches.allSatisfy { $0.status == 200 })
        // Every batch URL stays under 2,000 characters.
        let longest = batches.map { mirror.api.baseURL.count + 1 + $0.path.replacingOccurrences(of: "[", with: "%5B").replacingOccurrences(of: "]", with: "%5D").count }.max() ?? 0
        #expect(longest < 2000)
        #expect(try mirror.strings("SELECT fetch_mode FROM sync_state WHERE kind IN ('coworkers', 'bookings', 'invoices', 'checkins') ORDER BY kind") == ["batch", "batch", "batch", "batch"])
        let status = try await mirror.run(["status"])
        #expect(status.output.contains("bookings"), "\(status.output)")
        #expect(status.output.split(separator: "\n").contains { $0.hasPrefix("bookings ") && $0.contains(" batch") }, "\(status.output)")
        // rebuild reproduces the replica from the log.
        let before = try mirror.strings("SELECT data FROM bookings ORDER BY id")
        #expect(try await mirror.run(["rebuild"]).status == 0)
        #expect(try mirror.strings("SELECT data FROM bookings ORDER BY id") == before)
    }

    @Test func partialBatchRecordsNeverReachTheLogTheKindFallsBackToSingleGETs() async throws {
        let mirror = try await Self.start(scale: 20)
        mirror.account.serveBatches(.partial)
        let result = try await mirror.sync()
        #expect(result.status == 0, "\(result.stderr)")
        let notices = result.output.split(separator: "\n").filter { $0.contains("one record per request") }
        #expect(notices.count == 4, "\(result.output)")  // coworkers, bookings, checkins, invoices
        #expect(notices.contains { $0.hasPrefix("coworkers: fetching one record per request (GET …/{id}), not in batches: the batch answer's records differ from GET …/{id}'s") })
        try Self.expectMirrors(mirror)
        #expect(try mirror.strings("SELECT fetch_mode FROM sync_state WHERE kind = 'coworkers'") == ["single"])
        let status = try await mirror.run(["status"])
        #expect(status.output.contains("single: the batch answer's records differ"), "\(status.output)")
        // Remembered: the next run within a day does not try the batch form again, and says so.
        for id in Int64(20_000)..<20_010 { mirror.account.putSampleCoworker(id: id, updatedOn: "2025-07-01T00:00:00Z") }
        let before = mirror.account.requests.count
        let again = try await mirror.sync(["--entity", "coworkers"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.output.contains("coworkers: fetching one record per request (GET …/{id}), not in batches: the batch answer's records differ"))
        #expect(again.output.contains("coworkers: listed 53, fetched 10, new 10"), "\(again.output)")
        #expect(!mirror.account.requests.dropFirst(before).contains { $0.path.contains("?id=[") })
        try Self.expectMirrors(mirror)
    }

    @Test func aRefusedBatchFormFallsBackToSingleGETs() async throws {
        let mirror = try await Self.start(scale: 10)
        mirror.account.serveBatches(.refused)
        let result = try await mirror.sync()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("bookings: fetching one record per request (GET …/{id}), not in batches: the API refused the batch form (HTTP 400)"), "\(result.output)")
        #expect(result.output.contains("bookings: listed 32, fetched 32, new 32"))
        try Self.expectMirrors(mirror)
        let status = try await mirror.run(["status"])
        #expect(status.output.contains("single: the API refused the batch form (HTTP 400)"), "\(status.output)")
        // One refused batch per kind, then single GETs only.
        #expect(mirror.account.requests.filter { $0.path.hasPrefix("spaces/bookings/?id=[") }.map(\.status) == [400])
    }

    @Test func anIdDeletedBetweenTheListAndItsBatchIsTombstonedOnce() async throws {
        let mirror = try await Self.start(scale: 10)
        mirror.account.deleteWhenBatched("spaces/bookings", id: 200_005)
        let result = try await mirror.sync(["--entity", "bookings"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("bookings: listed 32, fetched 31, new 31, changed 0, deleted 1, unchanged 0"), "\(result.output)")
        #expect(!result.output.contains("one record per request"))
        // Missing from the batch answer, asked for singly: 404.
        #expect(mirror.account.requests.contains { $0.path == "spaces/bookings/200005" && $0.status == 404 })
        #expect(try mirror.strings("SELECT updated_on FROM tombstones WHERE entity_type = 'Booking' AND id = 200005") == [nil])
        #expect(try mirror.count("SELECT count(*) FROM events WHERE entity_id = 200005") == 1)
        try Self.expectMirrors(mirror, only: ["spaces/bookings"])
        let events = try mirror.count("SELECT count(*) FROM events")
        let again = try await mirror.sync(["--entity", "bookings"])
        #expect(again.output.contains("bookings: listed 31, fetched 0, new 0, changed 0, deleted 0, unchanged 31"), "\(again.output)")
        #expect(try mirror.count("SELECT count(*) FROM events") == events)
    }

    @Test func anIdABatchAnswerLeavesOutIsFetchedSingly() async throws {
        let mirror = try await Self.start(scale: 10)
        mirror.account.leaveOutOfBatches(200_007)
        let result = try await mirror.sync(["--entity", "bookings"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("bookings: listed 32, fetched 32, new 32, changed 0, deleted 0, unchanged 0"), "\(result.output)")
        #expect(!result.output.contains("one record per request"))
        #expect(mirror.account.requests.filter { $0.path == "spaces/bookings/200007" }.map(\.status) == [200])
        try Self.expectMirrors(mirror, only: ["spaces/bookings"])
        // One of the ids the check compares (the first batch's first) left out: the form is not
        // trusted for the kind.
        mirror.account.leaveOutOfBatches(101)
        let coworkers = try await mirror.sync(["--entity", "coworkers"])
        #expect(coworkers.output.contains("coworkers: fetching one record per request (GET …/{id}), not in batches: the batch answer left out records that GET …/{id} returns"), "\(coworkers.output)")
        #expect(coworkers.output.contains("coworkers: listed 23, fetched 23, new 23"), "\(coworkers.output)")
        try Self.expectMirrors(mirror, only: ["spaces/bookings", "spaces/coworkers"])
    }

    @Test func aDryRunSaysHowManyRequestsTheSyncWillMake() async throws {
        let mirror = try await Self.start(scale: 120)
        let dry = try await mirror.sync(["--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let line = try #require(dry.output.split(separator: "\n").last { $0.hasPrefix("sync: ") })
        let planned = try #require(line.components(separatedBy: "a sync would make ").last?.split(separator: " ").first.flatMap { Int($0) })
        #expect(dry.output.contains("bookings: listed 362, fetched 0, new 362"))
        #expect(dry.output.contains("[dry run] a sync would make "))
        let before = mirror.account.requests.count
        let real = try await mirror.sync()
        #expect(real.status == 0, "\(real.stderr)")
        // Sign-in, list pages, batches, the check's single GETs, the small kinds' records and
        // the webhooks list: as many as the dry run said.
        #expect(mirror.account.requests.count - before == planned, "\(dry.output)\n\(real.output)")
    }

    @Test func aUserNameWithoutPasswordSyncsWithAWorkingTokenFile() async throws {
        let mirror = try await Self.start(scale: 0)
        var environment = mirror.environment(password: false)
        environment["NEXUDUS_USERNAME"] = SyncMirror.user
        // No token file yet: one line asking for the password, naming where the user came from.
        let first = try await CLI.run(["sync", "--entity", "tariffs", "--requests-per-minute", "600"], environment: environment)
        #expect(first.status == 1)
        #expect(first.stderr.split(separator: "\n").count == 1, "\(first.stderr)")
        #expect(first.stderr.contains("set NEXUDUS_PASSWORD"), "\(first.stderr)")
        #expect(try await mirror.sync(["--entity", "tariffs"]).status == 0)
        // The token file works: the user name alone does not stop the run.
        let second = try await CLI.run(["sync", "--entity", "tariffs", "--requests-per-minute", "600"], environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.output.contains("tariffs: listed 1, fetched 0"))
        // Revoked in Nexudus: one clear line asking for the password.
        mirror.account.revokeRefreshTokens()
        let revoked = try await CLI.run(["sync", "--entity", "tariffs", "--requests-per-minute", "600"], environment: environment)
        #expect(revoked.status == 1)
        #expect(revoked.stderr.split(separator: "\n").count == 1, "\(revoked.stderr)")
        #expect(revoked.stderr.contains("refresh token in \(mirror.tokenFile) was refused"), "\(revoked.stderr)")
        #expect(revoked.stderr.contains("set NEXUDUS_PASSWORD"))
        #expect(!revoked.stderr.contains("NEXUDUS_USERNAME and NEXUDUS_PASSWORD"))
        // With the password it signs in again.
        #expect(try await mirror.sync(["--entity", "tariffs"]).status == 0)
    }
}

/// The politeness rules hold for batch requests as for single ones.
@Suite struct SyncBatchPolitenessTests {
    @Test func batchesKeepThePaceWaitRetryAfterRetry503AndRefreshOnce() async throws {
        let mirror = try await SyncBatchTests.start(scale: 100)
        mirror.account.addFault(status: 409, retryAfter: "1", count: 1, pathPrefix: "spaces/bookings/?id=")
        mirror.account.addFault(status: 503, count: 1, pathPrefix: "spaces/coworkers/?id=")
        mirror.account.addFault(status: 429, retryAfter: "1", count: 1, pathPrefix: "billing/coworkerinvoices/?id=")
        let result = try await mirror.run(["sync", "--requests-per-minute", "6000"])
        #expect(result.status == 0, "\(result.stderr)")
        try SyncBatchTests.expectMirrors(mirror)
        let log = Array(mirror.account.requests.dropFirst())
        SyncPolitenessTests.expectPace(log.map(\.at), interval: 0.1)
        for status in [409, 429] {
            let throttled = try #require(log.firstIndex { $0.status == status })
            #expect(log[throttled].path.contains("?id=["))
            #expect(log[throttled + 1].at - log[throttled].at >= 1.0)
            #expect(log[throttled + 1].path == log[throttled].path && log[throttled + 1].status == 200)
        }
        let failed = try #require(log.firstIndex { $0.status == 503 })
        #expect(log[failed + 1].path == log[failed].path && log[failed + 1].status == 200)
    }

    @Test func aRevokedAccessTokenDuringABatchIsRefreshedOnce() async throws {
        let mirror = try await SyncBatchTests.start(scale: 30)
        #expect(try await mirror.sync(["--entity", "tariffs"]).status == 0)
        let before = mirror.account.requests.count
        // The next API request after the bookings list is the first batch (token grants are
        // not API requests).
        mirror.account.revokeAccessTokens(afterRequests: mirror.account.requests.filter { $0.path != "token" }.count + 1)
        let result = try await mirror.sync(["--entity", "bookings"], password: false)
        #expect(result.status == 0, "\(result.stderr)")
        let log = Array(mirror.account.requests.dropFirst(before))
        let refused = try #require(log.firstIndex { $0.status == 401 })
        #expect(log[refused].path.hasPrefix("spaces/bookings/?id=["))
        #expect(log[refused + 1].path == "token")
        #expect(log[refused + 2].path == log[refused].path && log[refused + 2].status == 200)
        #expect(log.filter { $0.status == 401 }.count == 1)
        try SyncBatchTests.expectMirrors(mirror, only: ["spaces/bookings", "billing/tariffs"])
    }

    @Test func theHourlyBudgetHoldsBatchesBackToo() async throws {
        let mirror = try await SyncBatchTests.start(scale: 30)
        // A budget of 4 an hour: the token, the bookings list, the first batch and one of the
        // check's single GETs; the rest waits for the hour.
        let process = try mirror.start(["sync", "--entity", "bookings", "--requests-per-minute", "600", "--requests-per-hour", "4"])
        defer { process.terminate() }
        // A wait for the fourth request, not a bound on it: a loaded machine may take minutes.
        await eventually(within: 180) { mirror.account.requests.count >= 4 }
        let paths = mirror.account.requests.map(\.path)
        #expect(paths.count == 4)
        #expect(paths.prefix(2) == ["token", "spaces/bookings"])
        #expect(paths.count > 2 && paths[2].hasPrefix("spaces/bookings/?id=["))
        try await Task.sleep(for: .seconds(2))
        #expect(mirror.account.requests.count == 4)
        #expect(process.isRunning)
    }
}
