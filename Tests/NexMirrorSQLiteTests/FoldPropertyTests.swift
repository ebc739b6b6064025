import Foundation
import GRDB
import NexMirrorCore
import NexMirrorTestSupport
import PropertyBased
import Testing
import NexMirrorStore
@testable import NexMirrorSQLite

@Suite struct FoldRuleTests {
    /// Any order and any duplication of the deliveries gives the replica that in-order folding
    /// gives, and `rebuild` reproduces it.
    @Test func anyOrderAndDuplicationConvergeToInOrderFolding() async throws {
        await propertyCheck(
            count: 60, input: Gen.int(in: 0...100_000).array(of: 1...40), Gen.int(in: 0...Int.max)
        ) { genes, seed in
            do {
                let deliveries = History.deliveries(genes: genes)
                let inOrder = try TemporaryStore()
                for delivery in deliveries { try await inOrder.append([delivery]) }
                try await inOrder.foldAll()
                let expected = try inOrder.replicaSnapshot()

                var random = SplitMix(seed: UInt64(seed))
                var arrivals = deliveries
                for _ in 0..<(deliveries.count / 2 + 1) {
                    arrivals.append(deliveries[Int(random.next() % UInt64(deliveries.count))])
                }
                arrivals.shuffle(using: &random)
                let shuffled = try TemporaryStore()
                var position = 0
                while position < arrivals.count {
                    let group = Int(random.next() % 5) + 1
                    try await shuffled.append(Array(arrivals[position..<min(arrivals.count, position + group)]))
                    position += group
                    if random.next() % 3 == 0 { try await shuffled.foldAll() }
                }
                try await shuffled.foldAll()
                #expect(try shuffled.replicaSnapshot() == expected)

                _ = try Rebuilder(store: shuffled.store, batchSize: 3).rebuild(projectionNames: nil)
                #expect(try shuffled.replicaSnapshot() == expected)
            } catch {
                Issue.record(error)
            }
        }
    }

    @Test func olderUpdateNeverResurrectsADeletedEntity() async throws {
        let temporary = try TemporaryStore()
        try await temporary.append([StoreFixtures.delivery("CoworkerDelete")])
        try await temporary.foldAll()
        try await temporary.append([StoreFixtures.delivery("CoworkerCreate")])
        try await temporary.foldAll()
        let rows: Int? = try temporary.value("SELECT count(*) FROM coworkers")
        #expect(rows == 0)
        let tombstone: String? = try temporary.value("SELECT updated_on FROM tombstones WHERE id = 1419000582")
        #expect(tombstone == "2026-03-02T08:43:57.3796589Z")
    }

    @Test func deleteWinsATieWithAnUpdate() async throws {
        let update = Array(#"[{"Id":7,"UpdatedOn":"2026-03-02T08:00:00Z","Name":"x"}]"#.utf8)
        let delete = Array(#"[{"Id":7,"UpdatedOn":"2026-03-02T10:00:00+02:00"}]"#.utf8)
        for order in [[0, 1], [1, 0]] {
            let temporary = try TemporaryStore()
            let deliveries = [
                NewDelivery(action: ActionCatalog.action(named: "TariffUpdate")!, body: update, source: .webhook, signature: .raw),
                NewDelivery(action: ActionCatalog.action(named: "TariffDelete")!, body: delete, source: .webhook, signature: .raw),
            ]
            for index in order { try await temporary.append([deliveries[index]]) }
            try await temporary.foldAll()
            let rows: Int? = try temporary.value("SELECT count(*) FROM entities")
            #expect(rows == 0, "order \(order)")
        }
    }

    @Test func poisonDeliveryIsQuarantinedAndFoldingGoesOn() async throws {
        let temporary = try TemporaryStore()
        let poison = Array(#"[{"Id":9,"UpdatedOn":"2026-03-02T08:00:00Z","FromTime":12}]"#.utf8)
        try await temporary.append([
            NewDelivery(action: ActionCatalog.action(named: "BookingCreate")!, body: poison, source: .webhook, signature: .raw),
            StoreFixtures.delivery("BookingCreate"),
        ])
        try await temporary.foldAll()
        let event = try #require(try temporary.rows("SELECT status, error FROM events WHERE seq = 1").first)
        #expect(event["status"] as String == "quarantined")
        #expect(event["error"] as String == "bookings: field FromTime: expected an ISO-8601 date, found number 12")
        let bookings = try temporary.rows("SELECT id FROM bookings").map { $0[0] as Int64 }
        #expect(bookings == [1_419_005_644])
        let checkpoint: Int64? = try temporary.value("SELECT min(checkpoint) FROM projections")
        #expect(checkpoint == 2)
    }

    @Test func badlyTypedCommonColumnsAreQuarantinedWithTheReason() async throws {
        let temporary = try TemporaryStore()
        let badUniqueId = Array(#"[{"Id":9,"UpdatedOn":"2026-03-02T08:00:00Z","UniqueId":5}]"#.utf8)
        let badCreatedOn = Array(#"[{"Id":10,"UpdatedOn":"2026-03-02T08:00:00Z","CreatedOn":"yesterday"}]"#.utf8)
        try await temporary.append([
            NewDelivery(action: ActionCatalog.action(named: "TariffCreate")!, body: badUniqueId, source: .webhook, signature: .raw),
            NewDelivery(action: ActionCatalog.action(named: "TariffCreate")!, body: badCreatedOn, source: .webhook, signature: .raw),
        ])
        try await temporary.foldAll()
        let events = try temporary.rows("SELECT status, error FROM events ORDER BY seq").map { [$0[0] as String, $0[1] as String] }
        #expect(events == [
            ["quarantined", "entities: field UniqueId: expected a string, found number 5"],
            ["quarantined", #"entities: field CreatedOn: expected an ISO-8601 date, found string "yesterday""#],
        ])
        let rows: Int? = try temporary.value("SELECT count(*) FROM entities")
        #expect(rows == 0)
    }

    @Test func rebuildWhileDeliveriesKeepArrivingFoldsEveryDeliveryOnce() async throws {
        let temporary = try TemporaryStore()
        let genes = (0..<400).map { ($0 * 7919) % 100_000 }
        let deliveries = History.deliveries(genes: genes)
        let invoices = Set(deliveries.filter { $0.action.entityType == "CoworkerInvoice" }.map(\.bodySHA256)).count
        try await temporary.append(Array(deliveries.prefix(200)))
        try await temporary.foldAll()

        let store = temporary.store
        let ingest = Task {
            for chunk in stride(from: 200, to: deliveries.count, by: 10) {
                _ = try await store.append(Array(deliveries[chunk..<min(deliveries.count, chunk + 10)]))
                _ = try await store.foldPending(limit: 7)
            }
        }
        for _ in 0..<3 {
            _ = try await Task.detached { try Rebuilder(store: store, batchSize: 25).rebuild(projectionNames: nil) }.value
        }
        try await ingest.value
        try await temporary.foldAll()
        let folded = try temporary.replicaSnapshot()
        #expect(folded["invoice_events"]?.count == invoices)
        let checkpoints = try temporary.rows("SELECT DISTINCT checkpoint FROM projections").map { $0[0] as Int64 }
        let last: Int64? = try temporary.value("SELECT max(seq) FROM events")
        #expect(checkpoints == [last])

        let reference = try TemporaryStore()
        try await reference.append(deliveries)
        try await reference.foldAll()
        #expect(folded == (try reference.replicaSnapshot()))
    }

    @Test func rebuildOfOneProjectionLeavesTheOthersAlone() async throws {
        let temporary = try TemporaryStore()
        try await temporary.append(StoreFixtures.names.map(StoreFixtures.delivery))
        try await temporary.foldAll()
        let before = try temporary.replicaSnapshot()
        let summary = try Rebuilder(store: temporary.store).rebuild(projectionNames: ["bookings"])
        #expect(summary.projections == ["bookings"])
        #expect(try temporary.replicaSnapshot() == before)
        let indexes: [String] = try await temporary.store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'bookings' ORDER BY name")
        }
        #expect(indexes == ["bookings_coworker", "bookings_from_time"])
        let view: Int? = try temporary.value("SELECT count(*) FROM members")
        #expect(view == 2)
    }

    @Test func changedProjectionVersionIsRebuiltAtStart() async throws {
        let temporary = try TemporaryStore()
        try await temporary.append([StoreFixtures.delivery("BookingCreate")])
        try await temporary.foldAll()
        try await temporary.store.pool.write { db in
            try db.execute(sql: "UPDATE projections SET version = 0, checkpoint = 0 WHERE name = 'bookings'")
            try db.execute(sql: "DELETE FROM bookings")
        }
        let rebuilt = try temporary.store.registerProjectionsAndRebuildChanged()
        #expect(rebuilt == ["bookings"])
        let rows: Int? = try temporary.value("SELECT count(*) FROM bookings")
        #expect(rows == 1)
    }
}
