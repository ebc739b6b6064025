import GRDB
import NexMirrorCore
import NexMirrorStore

extension SQLiteStore: SyncLedger {
    public func heldVersions(of kind: HeldKind) async throws -> HeldVersions {
        let table = try kind.checkedTable
        return try await pool.read { db in try Self.heldVersions(db, table: table, entityType: kind.entityType) }
    }

    public func syncStarted(kind: String, at time: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO sync_state (kind, started_at, error) VALUES (?, ?, NULL)
                ON CONFLICT (kind) DO UPDATE SET started_at = excluded.started_at, error = NULL
                """, arguments: [kind, time.description])
        }
    }

    public func syncFinished(_ figures: SyncFigures, at time: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                UPDATE sync_state SET finished_at = ?, error = NULL, listed = ?, fetched = ?, new = ?, changed = ?,
                    deleted = ?, unchanged = ? WHERE kind = ?
                """, arguments: [
                    time.description, figures.listed, figures.fetched, figures.new, figures.changed, figures.deleted,
                    figures.unchanged, figures.kind,
                ])
        }
    }

    public func syncFailed(kind: String, error: String, at time: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO sync_state (kind, started_at, error) VALUES (?, ?, ?)
                ON CONFLICT (kind) DO UPDATE SET error = excluded.error
                """, arguments: [kind, time.description, error])
        }
    }

    public func recordFetchMode(_ mode: FetchMode, kind: String) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO sync_state (kind, fetch_mode, fetch_note, fetch_checked_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (kind) DO UPDATE SET fetch_mode = excluded.fetch_mode, fetch_note = excluded.fetch_note,
                    fetch_checked_at = excluded.fetch_checked_at
                """, arguments: [kind, mode.form.rawValue, mode.note, mode.checkedAt.description])
        }
    }

    public func fetchModes() async throws -> [String: FetchMode] {
        try await pool.read { db in try Self.fetchModes(db) }
    }

    public func replaceWebhooks(_ webhooks: [WebhookRecord], seenAt time: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM nexudus_webhooks")
            let insert = try db.makeStatement(sql: """
                INSERT OR REPLACE INTO nexudus_webhooks
                    (id, business_id, action, url, active, error_count, last_error, last_trigger, seen_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for webhook in webhooks {
                try insert.execute(arguments: [
                    webhook.id, webhook.businessId, webhook.action, webhook.url, webhook.active ? 1 : 0,
                    webhook.errorCount, webhook.lastError, webhook.lastTrigger?.description, time.description,
                ])
            }
        }
    }

    /// The versions held of one kind, on any connection (the writer's pool, or a read-only one).
    static func heldVersions(_ db: Database, table: String, entityType: String) throws -> HeldVersions {
        var held = HeldVersions()
        // `table` is one of the replica's own (HeldKind.checkedTable), never input.
        let rows = table == "entities"
            ? try Row.fetchCursor(db, sql: "SELECT id, updated_on FROM entities WHERE entity_type = ?", arguments: [entityType])
            : try Row.fetchCursor(db, sql: "SELECT id, updated_on FROM \(table)")
        while let row = try rows.next() { held.rows[row[0]] = .some(row[1]) }
        let tombstones = try Row.fetchCursor(
            db, sql: "SELECT id, updated_on FROM tombstones WHERE entity_type = ?", arguments: [entityType])
        while let row = try tombstones.next() { held.tombstones[row[0]] = .some(row[1]) }
        return held
    }

    /// The fetch mode per kind; none on a database from before `sync_state.fetch_mode`, which a
    /// dry run reads without migrating.
    static func fetchModes(_ db: Database) throws -> [String: FetchMode] {
        guard try db.tableExists("sync_state"), try db.columns(in: "sync_state").contains(where: { $0.name == "fetch_mode" })
        else { return [:] }
        var modes: [String: FetchMode] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT kind, fetch_mode, fetch_note, fetch_checked_at FROM sync_state
            WHERE fetch_mode IS NOT NULL AND fetch_checked_at IS NOT NULL
            """) {
            guard let form = FetchMode.Form(rawValue: row[1]), let checked = Timestamp(parsing: row[3] as String)
            else { continue }
            modes[row[0]] = FetchMode(form: form, note: row[2], checkedAt: checked)
        }
        return modes
    }
}

/// A dry run compares with the replica through the read-only connection: SQLite refuses writes.
extension SQLiteReader: HeldVersionReader {
    public func heldVersions(of kind: HeldKind) async throws -> HeldVersions {
        let table = try kind.checkedTable
        return try await database.read { db in
            try SQLiteStore.heldVersions(db, table: table, entityType: kind.entityType)
        }
    }

    public func fetchModes() async throws -> [String: FetchMode] {
        try await database.read { db in try SQLiteStore.fetchModes(db) }
    }
}
