import Foundation
import GRDB
import NexMirrorStore
import Testing
@testable import NexMirrorSQLite

@Suite struct ReplicaStoreTests {
    @Test func rebuildThroughTheProtocolReportsProgressAndItsSummary() async throws {
        let temporary = try TemporaryStore()
        try await temporary.append(["CoworkerCreate", "BookingCreate", "TeamCreated"].map(StoreFixtures.delivery))
        let store: any ReplicaStore = temporary.store
        let seen = Seen()
        let summary = try await store.rebuild(projectionNames: ["bookings"]) { seen.add($0.eventsRead) }
        #expect(summary.projections == ["bookings"])
        #expect(summary.events == 3)
        #expect(seen.last == 3)
        let bookings: Int? = try temporary.value("SELECT count(*) FROM bookings")
        let coworkers: Int? = try temporary.value("SELECT count(*) FROM coworkers")
        #expect(bookings == 1)
        #expect(coworkers == 0)
    }

    @Test func aMissingReplicaTableIsAnErrorNotACrash() async throws {
        let temporary = try TemporaryStore()
        try await temporary.store.pool.write { db in try db.execute(sql: "DROP TABLE team_members") }
        let store: any ReplicaStore = temporary.store
        await #expect(throws: StoreError.self) { try await store.rebuild(projectionNames: ["teams"], progress: nil) }
    }
}

/// Progress as a rebuild reports it.
final class Seen {
    private(set) var last = 0
    func add(_ value: Int) { last = value }
}
