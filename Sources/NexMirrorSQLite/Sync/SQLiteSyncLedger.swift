import GRDB
import NexMirrorCore
import NexMirrorStore

/// The ledger's statements run on the single writer; SQLite's own errors reach the caller as they are.
extension SQLiteStore: SQLSyncLedger {
    public func ledgerExecutor(doing: String) -> any SQLExecutor { SQLiteExecutor(pool) }

    public func heldVersions(of kind: HeldKind) async throws -> HeldVersions {
        try await pool.read { db in try Self.heldVersions(of: kind, in: db) }
    }

    public func fetchModes() async throws -> [String: FetchMode] {
        try await pool.read { db in try Self.fetchModes(db) }
    }

    /// The versions held of one kind, on any connection (the writer's pool, or a read-only one).
    static func heldVersions(of kind: HeldKind, in db: Database) throws -> HeldVersions {
        HeldVersions(try SQLiteExecutor.run(HeldVersions.statements(kind, .sqlite), in: db))
    }

    /// The fetch mode per kind; none on a database from before `sync_state.fetch_mode`, which a
    /// dry run reads without migrating.
    static func fetchModes(_ db: Database) throws -> [String: FetchMode] {
        guard try db.tableExists("sync_state"), try db.columns(in: "sync_state").contains(where: { $0.name == "fetch_mode" })
        else { return [:] }
        return FetchMode.byKind(try Row.fetchAll(
            db, sql: "SELECT kind, fetch_mode, fetch_note, fetch_checked_at FROM sync_state").map(Cell.row))
    }
}

/// A dry run compares with the replica through the read-only connection: SQLite refuses writes.
extension SQLiteReader: HeldVersionReader {
    public func heldVersions(of kind: HeldKind) async throws -> HeldVersions {
        try await database.read { db in try SQLiteStore.heldVersions(of: kind, in: db) }
    }

    public func fetchModes() async throws -> [String: FetchMode] {
        try await database.read { db in try SQLiteStore.fetchModes(db) }
    }
}
