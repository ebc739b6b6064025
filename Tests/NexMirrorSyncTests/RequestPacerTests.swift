import Foundation
import Logging
import NexudusStandIn
import Testing
@testable import NexMirrorSync

/// The hourly budget (Nexudus: 5,000 requests an hour), measured with windows of seconds
/// instead of an hour: the pacer's own starts, then the arrivals at a stand-in that enforces
/// the limit the way the API does (409 past it).
@Suite struct RequestPacerTests {
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    @Test func noWindowHoldsMoreThanTheBudgetAndTheEstimateForeseesTheWaits() async throws {
        let pacer = RequestPacer(requestsPerMinute: 6000, budget: 8, window: .seconds(2))
        // A short burst runs at the 10/s cap: the budget costs nothing until it is spent.
        #expect(abs(await pacer.secondsFor(8) - 0.7) < 0.05)
        // The ETA counts the waits: the 20th starts after two windows and three paced slots,
        // not after nineteen slots.
        let estimate = await pacer.secondsFor(20)
        #expect(abs(estimate - 4.3) < 0.05, "estimated \(estimate) s")
        let clock = ContinuousClock()
        let origin = clock.now
        var starts: [Double] = []
        for _ in 0..<20 {
            try await pacer.admit()
            starts.append(Self.seconds(clock.now - origin))
        }
        // Measured when `admit` returns, which a loaded machine can only delay: so each start
        // is at least where the budget puts it. The 9th waits for the 1st to leave the window,
        // the 17th for the 9th.
        #expect(starts[8] >= 2.0, "\(starts)")
        #expect(starts[16] >= 4.0, "\(starts)")
        #expect(starts[19] >= 4.3, "\(starts)")
    }

    @Test func theDefaultBudgetIsNexudusHourlyLimitAndCannotBeRaised() async {
        let pacer = RequestPacer(requestsPerMinute: 120)
        #expect(pacer.budget == 5000)
        #expect(RequestPacer(requestsPerMinute: 120, requestsPerHour: 90_000).budget == 5000)
        #expect(RequestPacer(requestsPerMinute: 120, requestsPerHour: 1000).budget == 1000)
        // 5,000 at 120/min take 41m40s; the 5,001st waits for the first to leave the hour.
        let first = await pacer.secondsFor(5000)
        let more = await pacer.secondsFor(5001)
        #expect(abs(first - 2499.5) < 1)
        #expect(more >= 3600, "\(more)")
    }

    @Test func aSyncWithinTheBudgetDrawsNo409WhereAnUnbudgetedOneIsThrottled() async throws {
        // The stand-in allows 4 requests in any 2 s; clients without a budget, all at once, are
        // throttled.
        let eager = try await Self.fetch(10, concurrently: true, pacer: { RequestPacer(requestsPerMinute: 6000) })
        #expect(eager.contains { $0.status == 409 }, "the stand-in enforces its limit")
        // The budgeted pacer books 4 s. The API counts arrivals, and the stand-in stamps them
        // when its handler runs, which the rest of the suite (same process, two cores) delays
        // by up to 1.6 s: 2 s of slack (the real pacer books its hour 10 s longer).
        let pacer = RequestPacer(requestsPerMinute: 6000, budget: 4, window: .seconds(4))
        let paced = try await Self.fetch(12, concurrently: false, pacer: { pacer })
        #expect(!paced.contains { $0.status == 409 }, "\(paced.map { "\($0.at) \($0.status)" })")
        let arrivals = paced.filter { $0.path.hasPrefix("spaces/") }.map(\.at)
        #expect(arrivals.count == 12)
        for index in arrivals.indices where index + 4 < arrivals.count {
            #expect(arrivals[index + 4] - arrivals[index] > 2.0)
        }
    }

    /// Fetches `count` records from a stand-in limited to 4 requests in 2 s, through one client
    /// (or one client per record, all at once), each with a pacer from `pacer`; the stand-in's
    /// request log.
    static func fetch(
        _ count: Int, concurrently: Bool, pacer: @escaping @Sendable () -> RequestPacer
    ) async throws -> [NexudusAccount.LoggedRequest] {
        let account = NexudusAccount()
        account.addUser("ops@example.com", password: "pw")
        for id in 1...Int64(count) { account.put("spaces/coworkers", id: id, updatedOn: "2025-01-01T00:00:00Z") }
        account.limitRequests(4, perSeconds: 2)
        let api = try await StandInServer.start(account)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pacer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = api.baseURL
        let client = { @Sendable (name: String) in
            NexudusClient(
                baseURL: base,
                credentials: NexudusCredentials(username: "ops@example.com", password: "pw", totp: nil, source: "test"),
                tokenFile: TokenFile(path: directory.appendingPathComponent(name).path), pacer: pacer(),
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        }
        if concurrently {
            let clients = (1...Int64(count)).map { (id: $0, client: client("token-\($0)")) }
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for entry in clients {
                    group.addTask { try await entry.client.record("spaces/coworkers", id: entry.id) != nil }
                }
                for try await found in group { #expect(found) }
            }
        } else {
            let single = client("token")
            for id in 1...Int64(count) {
                #expect(try await single.record("spaces/coworkers", id: id) != nil)
            }
        }
        await api.stop()
        return account.requests
    }
}
