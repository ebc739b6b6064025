import Foundation
import GRDB
import Synchronization
import NexMirrorCore
import NexMirrorProjections
import NexMirrorSchema
import NexMirrorStore

/// The SQLite backend: one file holding the event log and the replica, WAL mode,
/// `synchronous=FULL` so that a commit survives power loss.
public final class SQLiteStore: EventStore {
    public let path: String
    /// The single writer: appends, folds and rebuild swaps are serialised through it.
    public let pool: DatabasePool
    static let rejectionsKept = 1000
    /// Why the last log commit failed, kept until a commit or a readiness probe succeeds.
    private let commitFailure = Mutex<String?>(nil)

    /// Opens (creating if needed) and migrates the database at `path`. A file that is not an
    /// SQLite database, is damaged, or is another application's SQLite database is refused
    /// before anything is written to it.
    public init(path: String, busyTimeout: TimeInterval = 5) throws {
        self.path = path
        do {
            try Self.refuseForeignFile(at: path)
            var configuration = Configuration()
            configuration.busyMode = .timeout(busyTimeout)
            configuration.label = "nexmirror"
            // Freed and overwritten content is zeroed, so an erasure or a compaction leaves no
            // byte of what it removed in the file (SPEC §10), and neither do superseded
            // replica rows.
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA secure_delete = ON") }
            pool = try DatabasePool(path: path, configuration: configuration)
            // After the pool's own WAL setup, which lowers it to NORMAL: a 2xx promises power-loss
            // durability, so every commit of the writer is fsynced.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            let isNew = try pool.read { db in try !db.tableExists("events") }
            try Self.migrator.migrate(pool)
            if isNew {
                try pool.write { db in
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO store_facts (name, value) VALUES ('secure_delete_since', 'creation')")
                }
            }
        } catch let error as DatabaseError {
            throw StoreError.opening(Self.openingMessage(path, error))
        }
    }

    /// Opening a file with a pool already turns on WAL mode, and migrating adds tables: neither
    /// may happen to a file that is not ours. An empty or missing file is a new database.
    static func refuseForeignFile(at path: String) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size > 0 else { return }
        var configuration = Configuration()
        configuration.readonly = true
        let tables = try DatabaseQueue(path: path, configuration: configuration).read { db in
            try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        guard tables.isEmpty || tables.isSuperset(of: ["events", "grdb_migrations"]) else {
            throw StoreError.notANexmirrorDatabase(path)
        }
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
            let results = try await pool.writeWithoutTransaction { db in
                // Every log commit is fsynced, whatever another writer path set before.
                try db.execute(sql: "PRAGMA synchronous = FULL")
                var results: [AppendResult] = []
                try db.inTransaction(.immediate) {
                    results = try Self.append(deliveries, in: db)
                    return .commit
                }
                return results
            }
            commitFailure.withLock { $0 = nil }
            return results
        } catch let error as DatabaseError {
            let reason = error.message ?? error.description
            commitFailure.withLock { $0 = reason }
            throw StoreError.unavailable(reason)
        }
    }

    static func append(_ deliveries: [NewDelivery], in db: Database) throws -> [AppendResult] {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO events (received_at, action, action_id, entity_type, entity_id, updated_on,
                                body, body_sha256, source, signature, status, error)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let existing = try db.cachedStatement(sql: "SELECT seq FROM events WHERE action = ? AND body_sha256 = ?")
        let erasedSubjects = try ErasedSubjectsAtAppend(db)
        var results: [AppendResult] = []
        results.reserveCapacity(deliveries.count)
        for delivery in deliveries {
            // Looked up first so a redelivery consumes no log position. The hash is the original
            // bytes', also for a delivery stored erased: a Nexudus retry stays a duplicate.
            if let seq = try Int64.fetchOne(existing, arguments: [delivery.action.name, delivery.bodySHA256]) {
                results.append(AppendResult(seq: seq, duplicate: true))
                continue
            }
            let erasure = try erasedSubjects.erasure(of: delivery)
            try insert.execute(arguments: [
                delivery.receivedAt.description, delivery.action.name, delivery.action.id,
                delivery.entityType, delivery.entityId, delivery.updatedOn?.description,
                Data(erasure?.body.body ?? delivery.body), delivery.bodySHA256, delivery.source.rawValue, delivery.signature.rawValue,
                (delivery.problem == nil ? DeliveryStatus.ok : .quarantined).rawValue, delivery.problem,
            ])
            let seq = db.lastInsertedRowID
            if let erasure { try erasedSubjects.record(erasure, seq: seq, original: delivery.bodySHA256) }
            results.append(AppendResult(seq: seq, duplicate: false))
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

    /// Why the last log commit failed, while no commit or probe has succeeded since.
    public var lastCommitFailure: String? { commitFailure.withLock { $0 } }

    public func isWritable() async -> Bool {
        let failing = lastCommitFailure != nil
        do {
            try await pool.writeWithoutTransaction { db in
                guard failing else { return try db.inTransaction(.immediate) { .rollback } }
                // Taking the write lock proves nothing after a failed commit (disk full, I/O
                // error, read-only file system): only a durable write does. Rewriting the
                // header's user_version with its own value writes and fsyncs one WAL frame.
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.inTransaction(.immediate) {
                    let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                    try db.execute(sql: "PRAGMA user_version = \(version)")
                    return .commit
                }
            }
            if failing { commitFailure.withLock { $0 = nil } }
            return true
        } catch {
            return false
        }
    }

    // MARK: Replica

    /// Small enough that a fold transaction holds the single writer for only a few ms, so log
    /// commits queued behind it keep a low p99.
    public var foldBatchSize: Int { 100 }

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
    public func registerProjectionsAndRebuildChanged(progress: ((RebuildProgress) -> Void)? = nil) throws -> [String] {
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

extension SQLiteStore {
    /// One line that says what is wrong with the file SQLite refused to open or migrate.
    static func openingMessage(_ path: String, _ error: DatabaseError) -> String {
        switch error.resultCode {
        case .SQLITE_NOTADB:
            "\(path) is not an SQLite database, or its header is damaged; nothing was written to it"
        case .SQLITE_CORRUPT:
            "\(path) is damaged (SQLite: database disk image is malformed); restore it from a backup"
        default:
            "cannot open \(path): \((error.message ?? "SQLite error \(error.resultCode.rawValue)").split(whereSeparator: \.isNewline).joined(separator: " "))"
        }
    }
}

/// The erased subjects a batch of appends must honour: a delivery naming one is written with
/// that subject's data already erased (SPEC §10), and its rewrite is recorded.
struct ErasedSubjectsAtAppend {
    let db: Database
    /// False in a store with no erasure, so the common append costs one lookup per batch.
    let any: Bool

    init(_ db: Database) throws {
        self.db = db
        any = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM erased_subjects)") ?? false
    }

    func erasure(of delivery: NewDelivery) throws -> (body: ErasedBody, reason: String?)? {
        guard any, !delivery.referencedCoworkers.isEmpty else { return nil }
        let lookup = try db.cachedStatement(sql: "SELECT reason FROM erased_subjects WHERE coworker_id = ?")
        var erased: Set<Int64> = []
        var reason: String?
        for id in Set(delivery.referencedCoworkers) {
            guard let row = try Row.fetchOne(lookup, arguments: [id]) else { continue }
            erased.insert(id)
            reason = reason ?? row[0]
        }
        guard !erased.isEmpty, let body = delivery.erased(for: erased) else { return nil }
        return (body, reason)
    }

    func record(_ erasure: (body: ErasedBody, reason: String?), seq: Int64, original: String) throws {
        try db.execute(
            sql: "INSERT INTO erasures (seq, original_sha256, erased_sha256, erased_at, reason) VALUES (?, ?, ?, ?, ?)",
            arguments: [seq, original, erasure.body.sha256, Timestamp.now.description, erasure.reason])
    }
}
