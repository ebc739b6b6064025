import Foundation
import NexMirrorTestSupport
import NexudusFixtures
import NexMirrorCore
import NexMirrorPostgres
import NexMirrorStore
import Testing

/// A rebuild decides each batch of 2,000 deliveries while the batch before is being written,
/// against the versions read before that one was committed with its decisions put over them.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresRebuildPipelineTests {
    /// Entities that change in consecutive batches — updated, deleted, a stale version arriving
    /// after a newer one, a team's members replaced — end the rebuild as the projector's fold,
    /// which reads every batch's versions after the batch before was written, leaves them.
    @Test func aRebuildDecidingAheadEndsAsTheProjectorsFoldDoes() async throws {
        let url = try PostgresCluster.makeDatabase()
        let store = try await PostgresStoreTests.open(url)
        defer { store.close() }
        try await store.registerProjections()
        // Three rounds of 1,500 deliveries over the same 500 coworkers and 250 teams: the rebuild's
        // batches (1–2,000, 2,001–4,000, 4,001–4,500) each meet entities the one before changed.
        for round in 0..<3 {
            var deliveries: [NewDelivery] = []
            for id in 0..<500 {
                // Round 1 deletes every fifth coworker; in round 2 every seventh gets a version
                // older than round 1's, which must lose to it.
                let day = round == 2 && id % 7 == 0 ? 2 : 2 * round + 1
                let fixture = round == 1 && id % 5 == 0 ? "CoworkerDelete" : "CoworkerUpdate"
                deliveries.append(Self.delivery(fixture, id: 1_000 + Int64(id), day: day, salt: round))
                deliveries.append(Self.delivery("CoworkerUpdate", id: 5_000 + Int64(id), day: 2 * round + 1, salt: round))
                if id % 2 == 0 {
                    deliveries.append(Self.delivery("TeamUpdated", id: 9_000 + Int64(id / 2), day: 2 * round + 1, salt: round))
                } else {
                    deliveries.append(Self.delivery("BookingUpdate", id: 20_000 + Int64(id), day: 2 * round + 1, salt: round))
                }
            }
            _ = try await store.append(deliveries)
        }
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM events") == "4500")
        while try await store.foldPending(limit: 1_000) > 0 {}
        let folded = try PostgresStoreTests.replicaDump(url)
        // The stale versions lost, to the newer row or to the delete; the newest round won.
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM coworkers WHERE updated_on LIKE '2026-03-02%'") == "0")
        #expect(try PostgresCluster.psql(url, "SELECT count(*) > 0 FROM coworkers WHERE updated_on LIKE '2026-03-05%'") == "t")

        let summary = try await store.rebuild(projectionNames: nil, swap: .standard, progress: nil)
        #expect(summary.events == 4500)
        #expect(try PostgresStoreTests.replicaDump(url) == folded)
    }

    /// A fixture's delivery made about entity `id`, updated on 2026-03-0`day`, its body unique per `salt`.
    static func delivery(_ fixture: String, id: Int64, day: Int, salt: Int) -> NewDelivery {
        var dto = (try! JSONSerialization.jsonObject(with: Data(NexudusFixtures.body(fixture))) as! [[String: Any]])[0]
        dto["Id"] = id
        dto["UpdatedOn"] = String(format: "2026-03-%02dT08:00:%02d.0000000Z", day, salt)
        let body = try! JSONSerialization.data(withJSONObject: [dto], options: [.sortedKeys])
        return NewDelivery(
            action: ActionCatalog.action(named: fixture)!, body: [UInt8](body), source: .webhook, signature: .raw,
            receivedAt: .now)
    }
}
