import Foundation
import GRDB
import NexMirrorCore
import Testing
import NexMirrorStore
@testable import NexMirrorSQLite

/// `rebuild` reads the log in entity order and writes each entity's outcome once; these check
/// that it still equals folding every delivery in log order, on what the order change could miss.
@Suite struct EntityOrderedRebuildTests {
    private func booking(_ id: Int, _ updatedOn: String, _ resource: String, action: String = "BookingUpdate") -> NewDelivery {
        let body = #"[{"Id":\#(id),"UpdatedOn":"\#(updatedOn)","ResourceName":"\#(resource)","FromTime":"2026-03-02T09:00:00Z","ToTime":"2026-03-02T10:00:00Z"}]"#
        return NewDelivery(action: ActionCatalog.action(named: action)!, body: Array(body.utf8), source: .webhook, signature: .raw)
    }

    /// A log never folded before (as after an import): the rebuild quarantines a poison delivery
    /// even when it is an older version that loses, and the entity keeps its newest valid one.
    @Test func losingPoisonDeliveryIsQuarantinedByRebuild() async throws {
        let temporary = try TemporaryStore()
        let poison = Array(#"[{"Id":5,"UpdatedOn":"2026-03-01T08:00:00Z","FromTime":12}]"#.utf8)
        try await temporary.append([
            booking(5, "2026-03-02T08:00:00Z", "Boardroom", action: "BookingCreate"),
            NewDelivery(action: ActionCatalog.action(named: "BookingUpdate")!, body: poison, source: .webhook, signature: .raw),
        ])
        _ = try Rebuilder(store: temporary.store, batchSize: 1).rebuild(projectionNames: nil)
        let statuses = try temporary.rows("SELECT status FROM events ORDER BY seq").map { $0[0] as String }
        #expect(statuses == ["ok", "quarantined"])
        let resources = try temporary.rows("SELECT resource_name FROM bookings").map { $0[0] as String }
        #expect(resources == ["Boardroom"])
    }

    /// Many entities, several versions each, deletes before and after updates, every batch size
    /// from one delivery up: the rebuilt replica is the one folding in log order gives.
    @Test(arguments: [1, 2, 3, 7, 5000])
    func entityGroupsAcrossBatchesEqualLogOrderFolding(batchSize: Int) async throws {
        var deliveries: [NewDelivery] = []
        for round in 0..<4 {
            for id in 1...9 {
                let instant = "2026-03-0\(round + 1)T08:00:0\(id)Z"
                if round == 2, id % 3 == 0 {
                    let delete = #"[{"Id":\#(id),"UpdatedOn":"\#(instant)"}]"#
                    deliveries.append(NewDelivery(
                        action: ActionCatalog.action(named: "BookingDelete")!, body: Array(delete.utf8),
                        source: .webhook, signature: .raw))
                } else {
                    // Round 3 redelivers round 1's versions late for even ids: older, so they lose.
                    let late = round == 3 && id % 2 == 0
                    deliveries.append(booking(id, late ? "2026-03-01T08:00:0\(id)Z" : instant, "r\(round)-\(id)",
                                              action: round == 0 ? "BookingCreate" : "BookingUpdate"))
                }
            }
        }
        let reference = try TemporaryStore()
        try await reference.append(deliveries)
        try await reference.foldAll()
        let expected = try reference.replicaSnapshot()

        let rebuilt = try TemporaryStore()
        try await rebuilt.append(deliveries)
        _ = try Rebuilder(store: rebuilt.store, batchSize: batchSize).rebuild(projectionNames: nil)
        #expect(try rebuilt.replicaSnapshot() == expected)
        let tombstones: Int? = try rebuilt.value("SELECT count(*) FROM tombstones")
        #expect(tombstones == 3)
    }
}
