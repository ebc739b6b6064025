import Foundation
import GRDB
import NexMirrorCore
import NexMirrorProjections
import NexMirrorSchema

/// The SQLite backend: one file holding the event log and the replica, WAL mode,
/// `synchronous=FULL` so that a commit survives power loss.
public final class SQLiteStore: EventStore {
    public let path: String
    /// The single writer: appends, folds and rebuild swaps are serialised through it.
    public let pool: DatabasePool
    static let rejectionsKept = 1000

    /// Opens (creating if needed) and migrates the database at `path`.
    public init(path: String, busyTimeout: TimeInterval = 5) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "nexmirror"
        pool = try DatabasePool(path: path, configuration: configuration)
        // After the pool's own WAL setup, which lowers it to NORMAL: a 2xx promises power-loss
        // durability, so every commit of the writer is fsynced.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try Self.migrator.migrate(pool)
    }

    /// Opens an existing database read-only, for `query`, `export`, `events` and `status`.
    public static func openReadOnly(path: String) throws -> DatabaseQueue {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.missingDatabase(path) }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        let isNexmirror = try queue.read { db in try db.tableExists("events") && db.tableExists("grdb_migrations") }
        guard isNexmirror else { throw StoreError.notANexmirrorDatabase(path) }
        return queue
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in Schema.migrations {
            migrator.registerMigration(migration.identifier) { db in
                try db.execute(sql: migration.sql)
            }
        }
        return migrator
    }

    /// Identifiers of the migrations recorded in the database.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedIdentifiers(db).sorted() }
    }

    // MARK: Event log

    public func append(_ deliveries: [NewDelivery]) async throws -> [AppendResult] {
        do {
            return try await pool.writeWithoutTransaction { db in
                // Every log commit is fsynced, whatever another writer path set before.
                try db.execute(sql: "PRAGMA synchronous = FULL")
                var results: [AppendResult] = []
                try db.inTransaction(.immediate) {
                    results = try Self.append(deliveries, in: db)
                    return .commit
                }
                return results
            }
        } catch let error as DatabaseError {
            throw StoreError.unavailable(error.message ?? error.description)
        }
    }

    static func append(_ deliveries: [NewDelivery], in db: Database) throws -> [AppendResult] {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO events (received_at, action, action_id, entity_type, entity_id, updated_on,
                                body, body_sha256, source, signature, status, error)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let existing = try db.cachedStatement(sql: "SELECT seq FROM events WHERE action = ? AND body_sha256 = ?")
        var results: [AppendResult] = []
        results.reserveCapacity(deliveries.count)
        for delivery in deliveries {
            // Looked up first so a redelivery consumes no log position.
            if let seq = try Int64.fetchOne(existing, arguments: [delivery.action.name, delivery.bodySHA256]) {
                results.append(AppendResult(seq: seq, duplicate: true))
                continue
            }
            try insert.execute(arguments: [
                delivery.receivedAt.description, delivery.action.name, delivery.action.id,
                delivery.entityType, delivery.entityId, delivery.updatedOn?.description,
                Data(delivery.body), delivery.bodySHA256, delivery.source.rawValue, delivery.signature,
                delivery.problem == nil ? "ok" : "quarantined", delivery.problem,
            ])
            results.append(AppendResult(seq: db.lastInsertedRowID, duplicate: false))
        }
        return results
    }

    public func recordRejections(_ rejections: [Rejection]) async throws {
        guard !rejections.isEmpty else { return }
        try await pool.writeWithoutTransaction { db in
            // No fsync: a flood of bad signatures must not make the disk the bottleneck for
            // real deliveries.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.inTransaction(.immediate) {
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO rejections (received_at, action, size, body_sha256, remote_address, reason)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """)
                for rejection in rejections {
                    try insert.execute(arguments: [
                        rejection.receivedAt.description, rejection.action, rejection.size, rejection.bodySHA256,
                        rejection.remoteAddress, rejection.reason,
                    ])
                }
                try db.execute(
                    sql: "DELETE FROM rejections WHERE id <= ? - ?",
                    arguments: [db.lastInsertedRowID, Self.rejectionsKept])
                return .commit
            }
        }
    }

    public func isWritable() async -> Bool {
        do {
            try await pool.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) { .rollback }
            }
            return true
        } catch {
            return false
        }
    }

    // MARK: Replica

    public func foldPending(limit: Int = 500) async throws -> Int {
        try await pool.writeWithoutTransaction { db in
            // The replica can always be refolded from the log, so its commits skip the fsync;
            // the next log commit (FULL) syncs the WAL up to and including them.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            var folded = 0
            try db.inTransaction(.immediate) {
                folded = try ReplicaFolder.foldPending(in: db, limit: limit)
                return .commit
            }
            return folded
        }
    }

    public func progress() async throws -> (lastSeq: Int64, checkpoint: Int64) {
        try await pool.read { db in
            let last = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM events") ?? 0
            let checkpoint = try Int64.fetchOne(db, sql: "SELECT min(checkpoint) FROM projections") ?? 0
            return (last, checkpoint)
        }
    }

    /// Registers projections new to this database and rebuilds those whose version changed.
    /// Returns the names rebuilt.
    @discardableResult
    public func prepareProjections(progress: ((RebuildProgress) -> Void)? = nil) throws -> [String] {
        let stale: [String] = try pool.write { db in
            var stale: [String] = []
            for projection in Projections.all {
                let version = try Int.fetchOne(
                    db, sql: "SELECT version FROM projections WHERE name = ?", arguments: [projection.name])
                if version == nil {
                    try db.execute(
                        sql: "INSERT INTO projections (name, version, checkpoint) VALUES (?, ?, 0)",
                        arguments: [projection.name, projection.version])
                } else if version != projection.version {
                    stale.append(projection.name)
                }
            }
            return stale
        }
        if !stale.isEmpty {
            _ = try Rebuilder(store: self).rebuild(projectionNames: stale, progress: progress)
        }
        return stale
    }
}
