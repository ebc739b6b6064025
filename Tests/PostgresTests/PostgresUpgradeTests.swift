import Foundation
import Logging
import NexMirrorCore
import NexMirrorPostgres
import NexMirrorStore
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// A PostgreSQL database written by a released nexmirror (commit 567ea28, migrations 0001–0003:
/// the 33 deliveries of the SQLite upgrade fixture imported, one of them quarantined), kept as a
/// `pg_dump`, must open with today's code, keep every delivery and keep working.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresUpgradeTests {
    static let released = NexudusFixtures.packageRoot
        .appendingPathComponent("Tests/Fixtures/upgrade/release-567ea28.postgres.sql")
    /// The same database after that release's own `rebuild`, which renamed the replica's indexes.
    static let rebuiltByRelease = NexudusFixtures.packageRoot
        .appendingPathComponent("Tests/Fixtures/upgrade/release-567ea28-rebuilt.postgres.sql")

    /// A new database restored from a kept dump; its URL.
    static func restored(_ dump: URL = released) throws -> String {
        let url = try PostgresCluster.makeDatabase()
        let result = try PostgresCluster.shell(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-f", dump.path])
        try #require(result.status == 0, "restoring the released dump: \(result.stderr)")
        return url
    }

    static let log = "SELECT seq, action, body_sha256, status, coalesce(error, ''), source FROM events ORDER BY seq"

    @Test func releasedDatabaseMigratesAndKeepsItsLog() async throws {
        let url = try Self.restored()
        let before = try PostgresCluster.psql(url, Self.log)
        #expect(before.split(separator: "\n").count == 33)
        #expect(try PostgresCluster.psql(url, "SELECT identifier FROM schema_migrations ORDER BY 1")
            == "0001_pg_event_log\n0002_pg_replica\n0003_pg_append_batch")

        let store = try await PostgresStore(url: try PostgresURL(url), deadline: testDeadline, logger: Logger(label: "test"))
        defer { store.close() }
        try await store.registerProjectionsAndRebuildChanged(progress: nil)
        #expect(try await store.appliedMigrations().count == 8)
        #expect(try PostgresCluster.psql(url, Self.log) == before)
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM coworkers") == "2")

        // New deliveries continue the log after the old positions, from every source, and a
        // redelivery of an old one is a duplicate with its old seq.
        let body = Array(#"[{"Id":77,"UpdatedOn":"2026-11-01T10:00:00Z","FullName":"New member"}]"#.utf8)
        let webhook = NewDelivery(
            action: ActionCatalog.action(named: "CoworkerCreate")!, body: body, source: .webhook, signature: .raw)
        let fromAPI = NewDelivery(
            action: ActionCatalog.action(named: "CoworkerUpdate")!, body: body, source: .api, signature: .api)
        #expect(try await store.append([webhook, fromAPI]).map(\.seq) == [34, 35])
        #expect(try await store.append([webhook]) == [AppendResult(seq: 34, duplicate: true)])
        let (action, oldBody) = try Self.delivery(url, seq: 1)
        let old = NewDelivery(action: action, body: oldBody, source: .import, signature: .imported)
        #expect(try await store.append([old]) == [AppendResult(seq: 1, duplicate: true)])
        while try await store.foldPending(limit: 100) > 0 {}
        #expect(try PostgresCluster.psql(url, "SELECT full_name FROM coworkers WHERE id = 77") == "New member")
    }

    @Test func releasedDatabaseRebuildsToTheSameReplica() async throws {
        let url = try Self.restored()
        let store = try await PostgresStore(url: try PostgresURL(url), deadline: testDeadline, logger: Logger(label: "test"))
        defer { store.close() }
        try await store.registerProjectionsAndRebuildChanged(progress: nil)
        let replica = """
            SELECT string_agg(r, E'\\n' ORDER BY r) FROM (
                SELECT 'coworker ' || id || '|' || coalesce(updated_on, '') || '|' || data AS r FROM coworkers
                UNION ALL SELECT 'invoice ' || id || '|' || status FROM invoices
                UNION ALL SELECT 'booking ' || id || '|' || coalesce(updated_on, '') FROM bookings
                UNION ALL SELECT 'tombstone ' || entity_type || ':' || id FROM tombstones) AS t
            """
        let folded = try PostgresCluster.psql(url, replica)
        let indexes = try PostgresCluster.psql(url, Self.indexes)
        #expect(folded.contains("tombstone "))
        _ = try await store.rebuild(projectionNames: nil, progress: nil)
        #expect(try PostgresCluster.psql(url, replica) == folded)
        // Each index is rebuilt under its own name, with its own definition.
        #expect(try PostgresCluster.psql(url, Self.indexes) == indexes)
    }

    /// Every index of the database's own schema, as `CREATE INDEX` text (names included).
    static let indexes = """
        SELECT string_agg(indexdef, E'\\n' ORDER BY indexname) FROM pg_indexes WHERE schemaname = current_schema()
        """

    @Test func aDatabaseRebuiltByTheReleaseGetsItsIndexNamesBack() async throws {
        let fresh = try PostgresCluster.makeDatabase()
        try await PostgresStore(url: try PostgresURL(fresh), deadline: testDeadline, logger: Logger(label: "test")).close()
        let url = try Self.restored(Self.rebuiltByRelease)
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM pg_indexes WHERE indexname LIKE '%\\_\\_next%'") == "20")

        let store = try await PostgresStore(url: try PostgresURL(url), deadline: testDeadline, logger: Logger(label: "test"))
        defer { store.close() }
        #expect(try PostgresCluster.psql(url, Self.indexes) == PostgresCluster.psql(fresh, Self.indexes))
        _ = try await store.rebuild(projectionNames: nil, progress: nil)
        #expect(try PostgresCluster.psql(url, Self.indexes) == PostgresCluster.psql(fresh, Self.indexes))
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM coworkers") == "2")
    }

    /// The action and exact body of a logged delivery.
    static func delivery(_ url: String, seq: Int) throws -> (WebhookAction, [UInt8]) {
        let row = try PostgresCluster.psql(url, "SELECT action || '|' || encode(body, 'base64') FROM events WHERE seq = \(seq)")
        let parts = row.split(separator: "|", maxSplits: 1)
        let action = try #require(ActionCatalog.action(named: String(parts[0])))
        let body = try #require(Data(base64Encoded: String(parts[1]).replacingOccurrences(of: "\n", with: "")))
        return (action, Array(body))
    }
}
