import Logging
import NexMirrorCore
import NexMirrorStore
import PostgresNIO

/// `sync_state`, `nexudus_webhooks` and the replica's versions on PostgreSQL, as on SQLite:
/// timestamps as the same 7-digit text, figures as `integer`, `active` as 0/1.
extension PostgresStore: SyncLedger {
    /// Read in a `READ ONLY` transaction, so a dry run writes nothing even to a store opened
    /// without migrating; a database not migrated yet holds nothing, as a missing SQLite file.
    public func heldVersions(of kind: HeldKind) async throws -> HeldVersions {
        let table = try kind.checkedTable
        return try await statement("read the replica's versions from \(table)") { try await heldVersions(table, kind) }
    }

    private func heldVersions(_ table: String, _ kind: HeldKind) async throws -> HeldVersions {
        try await client.withConnection { [logger] connection in
            try await connection.query("BEGIN TRANSACTION READ ONLY", logger: logger)
            do {
                var held = HeldVersions()
                var migrated = false
                for try await exists in try await connection.query(
                    "SELECT to_regclass(\(table)) IS NOT NULL AND to_regclass('tombstones') IS NOT NULL", logger: logger
                ).decode(Bool.self) {
                    migrated = exists
                }
                if migrated {
                    // `table` is one of the replica's own (HeldKind.checkedTable), never input.
                    let rows: PostgresQuery = table == "entities"
                        ? "SELECT id, updated_on FROM entities WHERE entity_type = \(kind.entityType)"
                        : PostgresQuery(unsafeSQL: "SELECT id, updated_on FROM \(table)")
                    for try await (id, updatedOn) in try await connection.query(rows, logger: logger)
                        .decode((Int64, String?).self)
                    {
                        held.rows[id] = .some(updatedOn)
                    }
                    for try await (id, updatedOn) in try await connection.query(
                        "SELECT id, updated_on FROM tombstones WHERE entity_type = \(kind.entityType)", logger: logger
                    ).decode((Int64, String?).self) {
                        held.tombstones[id] = .some(updatedOn)
                    }
                }
                try await connection.query("ROLLBACK", logger: logger)
                return held
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    public func syncStarted(kind: String, at time: Timestamp) async throws {
        try await statement("record the start of the \(kind) sync in sync_state") { try await syncStarted(kind, time) }
    }

    private func syncStarted(_ kind: String, _ time: Timestamp) async throws {
        try await client.query("""
            INSERT INTO sync_state (kind, started_at, error) VALUES (\(kind), \(time.description), NULL)
            ON CONFLICT (kind) DO UPDATE SET started_at = excluded.started_at, error = NULL
            """, logger: logger)
    }

    public func syncFinished(_ figures: SyncFigures, at time: Timestamp) async throws {
        try await statement("record the \(figures.kind) sync's figures in sync_state") { try await syncFinished(figures, time) }
    }

    private func syncFinished(_ figures: SyncFigures, _ time: Timestamp) async throws {
        try await client.query("""
            UPDATE sync_state SET finished_at = \(time.description), error = NULL,
                listed = \(Int32(clamping: figures.listed)), fetched = \(Int32(clamping: figures.fetched)),
                new = \(Int32(clamping: figures.new)), changed = \(Int32(clamping: figures.changed)),
                deleted = \(Int32(clamping: figures.deleted)), unchanged = \(Int32(clamping: figures.unchanged))
            WHERE kind = \(figures.kind)
            """, logger: logger)
    }

    public func syncFailed(kind: String, error: String, at time: Timestamp) async throws {
        try await statement("record why the \(kind) sync stopped in sync_state") { try await syncFailed(kind, error, time) }
    }

    private func syncFailed(_ kind: String, _ error: String, _ time: Timestamp) async throws {
        try await client.query("""
            INSERT INTO sync_state (kind, started_at, error) VALUES (\(kind), \(time.description), \(error))
            ON CONFLICT (kind) DO UPDATE SET error = excluded.error
            """, logger: logger)
    }

    public func recordFetchMode(_ mode: FetchMode, kind: String) async throws {
        try await statement("record how the \(kind) sync fetches in sync_state") { try await recordFetchMode(mode, kind) }
    }

    private func recordFetchMode(_ mode: FetchMode, _ kind: String) async throws {
        try await client.query("""
            INSERT INTO sync_state (kind, fetch_mode, fetch_note, fetch_checked_at)
            VALUES (\(kind), \(mode.form.rawValue), \(mode.note), \(mode.checkedAt.description))
            ON CONFLICT (kind) DO UPDATE SET fetch_mode = excluded.fetch_mode, fetch_note = excluded.fetch_note,
                fetch_checked_at = excluded.fetch_checked_at
            """, logger: logger)
    }

    /// Read through `to_jsonb`, so a database not migrated yet (a dry run's) reads no mode
    /// instead of failing on a missing column.
    public func fetchModes() async throws -> [String: FetchMode] {
        try await statement("read how each kind was fetched from sync_state") { try await readFetchModes() }
    }

    private func readFetchModes() async throws -> [String: FetchMode] {
        var exists = false
        for try await found in try await client.query("SELECT to_regclass('sync_state') IS NOT NULL", logger: logger)
            .decode(Bool.self)
        {
            exists = found
        }
        guard exists else { return [:] }
        var modes: [String: FetchMode] = [:]
        for try await (kind, mode, note, checked) in try await client.query("""
            SELECT kind, to_jsonb(s) ->> 'fetch_mode', to_jsonb(s) ->> 'fetch_note', to_jsonb(s) ->> 'fetch_checked_at'
            FROM sync_state s
            """, logger: logger).decode((String, String?, String?, String?).self) {
            guard let form = mode.flatMap(FetchMode.Form.init(rawValue:)), let checkedAt = checked.flatMap({ Timestamp(parsing: $0) })
            else { continue }
            modes[kind] = FetchMode(form: form, note: note, checkedAt: checkedAt)
        }
        return modes
    }

    public func replaceWebhooks(_ webhooks: [WebhookRecord], seenAt time: Timestamp) async throws {
        try await statement("record the account's webhooks in nexudus_webhooks") { try await replaceWebhooks(webhooks, time) }
    }

    private func replaceWebhooks(_ webhooks: [WebhookRecord], _ time: Timestamp) async throws {
        try await client.withTransaction(logger: logger) { [logger] connection in
            try await connection.query("DELETE FROM nexudus_webhooks", logger: logger)
            for webhook in webhooks {
                try await connection.query("""
                    INSERT INTO nexudus_webhooks
                        (id, business_id, action, url, active, error_count, last_error, last_trigger, seen_at)
                    VALUES (\(webhook.id), \(webhook.businessId), \(webhook.action), \(webhook.url),
                        \(Int32(webhook.active ? 1 : 0)), \(webhook.errorCount.map { Int32(clamping: $0) }),
                        \(webhook.lastError), \(webhook.lastTrigger?.description), \(time.description))
                    ON CONFLICT (id) DO UPDATE SET business_id = excluded.business_id, action = excluded.action,
                        url = excluded.url, active = excluded.active, error_count = excluded.error_count,
                        last_error = excluded.last_error, last_trigger = excluded.last_trigger, seen_at = excluded.seen_at
                    """, logger: logger)
            }
        }
    }
}
