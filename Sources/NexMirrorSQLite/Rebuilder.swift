import Foundation
import GRDB
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore

/// Refolds projections from the whole log into `__rebuild` copies of their tables, then swaps
/// them in with one transaction, so readers never see a half-built replica and a receiver that
/// keeps ingesting meanwhile loses nothing: deliveries logged during the build are folded into
/// the copies inside the swap transaction, and the checkpoints move with the swap.
public struct Rebuilder {
    let store: SQLiteStore
    var batchSize = 5000

    public init(store: SQLiteStore, batchSize: Int = 5000) {
        self.store = store
        self.batchSize = batchSize
    }

    /// Rebuilds the named projections (all when `projectionNames` is nil or empty).
    public func rebuild(
        projectionNames: [String]?, progress: ((RebuildProgress) -> Void)? = nil
    ) throws -> RebuildSummary {
        let started = Date()
        let selection = try RebuildSelection(named: projectionNames)
        let projections = selection.projections
        let selected = selection.names
        let tables = selection.tables
        let suffix = ReplicaFolder.rebuildSuffix

        let (total, upTo) = try store.pool.write { db in
            for table in tables {
                try db.execute(sql: "DROP TABLE IF EXISTS \(table + suffix)")
                // SQLite may store the name quoted after a rename; the definition starts at "(".
                guard let ddl = try String.fetchOne(
                        db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table]),
                      let open = ddl.firstIndex(of: "(")
                else { throw StoreError.missingTable(table) }
                let definition = ddl[open...]
                try db.execute(sql: "CREATE TABLE \(table + suffix) \(definition)")
            }
            guard let row = try Row.fetchOne(db, sql: "SELECT count(*), coalesce(max(seq), 0) FROM events") else {
                return (0, Int64(0))
            }
            return (row[0] as Int, row[1] as Int64)
        }

        // The copies are rebuilt from scratch if interrupted, so their commits need no fsync. NORMAL,
        // not OFF: a checkpoint run here may copy a receiver's acknowledged frames into the database
        // file, and NORMAL still syncs that file before the WAL is reused.
        try store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        defer { try? store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") } }

        // The log as it was when the rebuild started, in entity order (see EntityOrderedFold).
        var read = 0
        var entity: EntityOrderedFold.Key?
        repeat {
            let batch = try store.pool.write { db in
                try EntityOrderedFold.foldBatch(
                    after: entity, upTo: upTo, limit: batchSize,
                    folder: ReplicaFolder(db: db, suffix: suffix, selected: selected), in: db)
            }
            read += batch.read
            entity = batch.last
            progress?(RebuildProgress(eventsRead: read, eventsTotal: max(total, read)))
        } while entity != nil

        // Deliveries appended since, in log order.
        var cursor = upTo
        while true {
            let count = try store.pool.write { db in
                try foldIntoCopies(after: &cursor, limit: batchSize, selected: selected, in: db)
            }
            read += count
            progress?(RebuildProgress(eventsRead: read, eventsTotal: max(total, read)))
            if count < batchSize { break }
        }

        try store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let caughtUp = try store.pool.write { db in
            // Deliveries appended since the last batch, folded under the write lock.
            let count = try foldIntoCopies(after: &cursor, limit: -1, selected: selected, in: db)
            try swap(selection, in: db)
            let now = Timestamp.now.description
            for projection in projections {
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO projections (name, version, checkpoint, rebuilt_at, updated_at)
                        VALUES (?, ?, ?, ?, ?)
                        """,
                    arguments: [projection.name, projection.version, cursor, now, now])
            }
            return count
        }
        read += caughtUp
        return RebuildSummary(
            projections: projections.map(\.name), events: read, seconds: Date().timeIntervalSince(started))
    }

    /// Folds up to `limit` deliveries after `cursor` (all when negative) into the `__rebuild`
    /// copies, in log order, moving `cursor` to the last one read.
    private func foldIntoCopies(
        after cursor: inout Int64, limit: Int, selected: Set<String>, in db: Database
    ) throws -> Int {
        let folder = ReplicaFolder(db: db, suffix: ReplicaFolder.rebuildSuffix, selected: selected)
        var count = 0
        while true {
            let read = LoggedEvent.after(cursor, limit: limit < 0 ? batchSize : limit, in: .sqlite)
            let events = try LoggedEvent.fetchAll(read, in: db)
            try folder.fold(events)
            cursor = events.last?.seq ?? cursor
            count += events.count
            if limit >= 0 || events.count < batchSize { return count }
        }
    }

    private func swap(_ selection: RebuildSelection, in db: Database) throws {
        let suffix = ReplicaFolder.rebuildSuffix
        // Tombstones are shared: the other projections' carry over into the copy that replaces them.
        if let carryOver = selection.carryOverTombstones(into: "tombstones" + suffix, .sqlite) {
            _ = try SQLiteExecutor.run([carryOver], in: db)
        }
        let views = try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'view'")
        for view in views { try db.execute(sql: "DROP VIEW \(view["name"] as String)") }
        for table in selection.tables {
            let indexes = try String.fetchAll(
                db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                arguments: [table])
            try db.execute(sql: "DROP TABLE \(table)")
            try db.execute(sql: "ALTER TABLE \(table + suffix) RENAME TO \(table)")
            for index in indexes { try db.execute(sql: index) }
        }
        for view in views { try db.execute(sql: view["sql"] as String) }
    }
}

extension SQLiteStore: ReplicaStore {
    /// `swap` does not apply: readers in WAL mode keep their snapshot and never block the swap,
    /// which waits only for the write lock, as long as the store's busy timeout.
    public func rebuild(
        projectionNames: [String]?, swap: SwapPolicy, progress: ((RebuildProgress) -> Void)?
    ) async throws -> RebuildSummary {
        try Rebuilder(store: self).rebuild(projectionNames: projectionNames, progress: progress)
    }
}
