import Foundation
import GRDB
import NexMirrorCore
import NexudusFixtures
import Testing
import NexMirrorStore
@testable import NexMirrorSQLite

/// A database written by a released nexmirror (commit 4622ef4: the 32 fixtures imported, plus
/// one quarantined delivery) must open with today's code, keep every delivery and keep working.
@Suite struct UpgradeTests {
    static let released = NexudusFixtures.packageRoot
        .appendingPathComponent("Tests/Fixtures/upgrade/release-4622ef4.sqlite")

    /// A copy, so the kept file is never migrated in place.
    static func copy() throws -> (URL, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("upgrade-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("old.sqlite").path
        try FileManager.default.copyItem(atPath: released.path, toPath: path)
        return (directory, path)
    }

    @Test func releasedDatabaseMigratesAndKeepsItsLog() async throws {
        let (directory, path) = try Self.copy()
        defer { try? FileManager.default.removeItem(at: directory) }
        let before = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT seq, action, body_sha256, status, error, source FROM events ORDER BY seq")
        }
        #expect(before.count == 33)

        let store = try SQLiteStore(path: path)
        try store.registerProjectionsAndRebuildChanged()
        #expect(try store.appliedMigrations() == SQLiteStore.migrator.migrations.sorted())
        let after = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, action, body_sha256, status, error, source FROM events ORDER BY seq")
        }
        #expect(after == before)
        let coworkers = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM coworkers") }
        #expect(coworkers == 2)

        // New deliveries continue the log after the old positions, from every source.
        let body = Array(#"[{"Id":77,"UpdatedOn":"2026-11-01T10:00:00Z","FullName":"New member"}]"#.utf8)
        let webhook = NewDelivery(
            action: ActionCatalog.action(named: "CoworkerCreate")!, body: body, source: .webhook, signature: .raw)
        let fromAPI = NewDelivery(
            action: ActionCatalog.action(named: "CoworkerUpdate")!, body: body, source: .api, signature: .api)
        let results = try await store.append([webhook, fromAPI])
        #expect(results.map(\.seq) == [34, 35])
        #expect(try await store.append([webhook]) == [AppendResult(seq: 34, duplicate: true)])
        while try await store.foldPending(limit: 100) > 0 {}
        let name = try await store.pool.read { db in
            try String.fetchOne(db, sql: "SELECT full_name FROM coworkers WHERE id = 77")
        }
        #expect(name == "New member")
    }

    @Test func releasedDatabaseRebuildsToTheSameReplica() async throws {
        let (directory, path) = try Self.copy()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: path)
        try store.registerProjectionsAndRebuildChanged()
        let snapshot = { try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT id || '|' || coalesce(updated_on, '') || '|' || data FROM coworkers ORDER BY id")
                + String.fetchAll(db, sql: "SELECT id || '|' || status FROM invoices ORDER BY id")
                + String.fetchAll(db, sql: "SELECT entity_type || ':' || id FROM tombstones ORDER BY 1")
        } }
        let folded = try snapshot()
        _ = try Rebuilder(store: store).rebuild(projectionNames: nil, progress: nil)
        #expect(try snapshot() == folded)
        #expect(!folded.isEmpty)
    }
}
