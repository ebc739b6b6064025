import Logging
import NexMirrorCore
import NexMirrorStore
import PostgresNIO

/// `sync_state`, `nexudus_webhooks` and the replica's versions on PostgreSQL, with the same
/// statements as on SQLite; a database error is one line saying what was being recorded.
extension PostgresStore: SQLSyncLedger {
    public func ledgerExecutor(doing: String) -> any SQLExecutor { describedExecutor(doing: doing) }

    /// Read in a `READ ONLY` transaction, so a dry run writes nothing even to a store opened
    /// without migrating; a database not migrated yet holds nothing, as a missing SQLite file.
    public func heldVersions(of kind: HeldKind) async throws -> HeldVersions {
        let statements = try HeldVersions.statements(kind, .postgreSQL)
        return try await statement("read the replica's versions from \(kind.table)") {
            try await client.withConnection { [logger] connection in
                try await connection.query("BEGIN TRANSACTION READ ONLY", logger: logger)
                do {
                    var migrated = false
                    for try await exists in try await connection.query(
                        "SELECT to_regclass(\(kind.table)) IS NOT NULL AND to_regclass('tombstones') IS NOT NULL", logger: logger
                    ).decode(Bool.self) {
                        migrated = exists
                    }
                    let held = migrated
                        ? HeldVersions(try await PostgresExecutor.run(statements, on: connection, logger: logger)) : HeldVersions()
                    try await connection.query("ROLLBACK", logger: logger)
                    return held
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        }
    }

    /// Read through `to_jsonb`, so a database not migrated yet (a dry run's) reads no mode
    /// instead of failing on a missing column.
    public func fetchModes() async throws -> [String: FetchMode] {
        let executor = describedExecutor(doing: "read how each kind was fetched from sync_state")
        guard try await executor.value("SELECT to_regclass('sync_state') IS NOT NULL") == .integer(1) else { return [:] }
        return FetchMode.byKind(try await executor.rows("""
            SELECT kind, to_jsonb(s) ->> 'fetch_mode', to_jsonb(s) ->> 'fetch_note', to_jsonb(s) ->> 'fetch_checked_at'
            FROM sync_state s
            """))
    }
}
