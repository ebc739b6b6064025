import Foundation
import GRDB
import NexMirrorCore
import NexMirrorStore

/// The replica as the space stood at an instant T (`--as-of T`): the fold of the log's
/// deliveries whose version time (`UpdatedOn`; a delivery without one: its `received_at`) is
/// at or before T, built aside in a scratch database by the same fold as `rebuild`.
///
/// The live database is only attached and read: its deliveries are folded straight from it,
/// never copied (copying the bodies cost more than the fold itself: 2.3x a rebuild of the same
/// deliveries on a 1M-event log), and `attachLog` shows them as `events` on a reader's
/// connection through a temporary view.
public final class AsOfReplica: Sendable {
    public let path: String
    public let asOf: Timestamp
    public let livePath: String
    /// Deliveries up to T that were folded.
    public let deliveries: Int
    private let directory: URL
    static let batchSize = 20_000

    public init(livePath: String, asOf: Timestamp, scratch: URL = FileManager.default.temporaryDirectory) throws {
        self.livePath = livePath
        self.asOf = asOf
        directory = scratch.appendingPathComponent("nexmirror-as-of-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("as-of.sqlite").path
        do {
            let store = try SQLiteStore(path: path)
            try store.registerProjectionsAndRebuildChanged()
            let instant = asOf.description
            deliveries = try store.pool.writeWithoutTransaction { db in
                // A scratch copy: losing it to a crash costs nothing, so no fsync.
                try db.execute(sql: "PRAGMA synchronous = OFF")
                try db.execute(sql: "ATTACH DATABASE ? AS live", arguments: [livePath])
                defer { try? db.execute(sql: "DETACH DATABASE live") }
                // Indexes are built once at the end, as `rebuild` does, not row by row.
                let indexes = try Row.fetchAll(db, sql: """
                    SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND sql IS NOT NULL
                    AND tbl_name NOT IN ('events', 'rejections')
                    """)
                for index in indexes { try db.execute(sql: "DROP INDEX main.\(index["name"] as String)") }
                // In entity order, as `rebuild` folds (EntityOrderedFold).
                var cursor: Int64 = 0
                var folded = 0
                var entity: EntityOrderedFold.Key?
                repeat {
                    try db.inTransaction {
                        let batch = try EntityOrderedFold.foldBatch(
                            after: entity, upTo: Int64.max, limit: Self.batchSize,
                            folder: ReplicaFolder(db: db, suffix: "", selected: nil), in: db,
                            log: "live.events", filter: AsOfFilter.condition(.sqlite, parameter: "?"),
                            filterArguments: [instant])
                        folded += batch.read
                        cursor = max(cursor, batch.maxSeq)
                        entity = batch.last
                        return .commit
                    }
                } while entity != nil
                for index in indexes { try db.execute(sql: index["sql"] as String) }
                try db.execute(
                    sql: "UPDATE projections SET checkpoint = ?, rebuilt_at = ?, updated_at = ?",
                    arguments: [cursor, Timestamp.now.description, Timestamp.now.description])
                return folded
            }
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Makes `events` on a connection to the as-of database show the log's deliveries up to T:
    /// the live log attached (read-only on a read-only connection) behind a temporary view,
    /// which SQLite resolves before the scratch file's own empty `events`.
    public func attachLog(_ db: Database) throws {
        try db.execute(sql: "ATTACH DATABASE ? AS live", arguments: [livePath])
        try db.execute(sql: """
            CREATE TEMP VIEW events AS SELECT * FROM live.events WHERE \(AsOfFilter.condition(.sqlite, at: asOf))
            """)
    }

    /// Removes the scratch database.
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { remove() }
}
