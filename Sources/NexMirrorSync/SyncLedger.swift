import Foundation
import GRDB
import NexMirrorCore
import NexMirrorSQLite
import NexMirrorStore

/// What sync reads from and records in the database besides the log: the replica's versions
/// of a kind, `sync_state` per kind, and `nexudus_webhooks`.
struct SyncLedger: Sendable {
    let store: SQLiteStore

    /// The version the replica holds per id: its row's `updated_on` (nil when the row has none)
    /// and whether a tombstone stands for it, with the tombstone's `updated_on` (nil: final).
    struct Held: Sendable {
        var rows: [Int64: String?] = [:]
        var tombstones: [Int64: String?] = [:]
    }

    func held(_ kind: NexudusKind) async throws -> Held {
        try await store.pool.read { db in
            var held = Held()
            let rows = kind.inEntitiesTable
                ? try Row.fetchCursor(db, sql: "SELECT id, updated_on FROM entities WHERE entity_type = ?", arguments: [kind.entityType])
                : try Row.fetchCursor(db, sql: "SELECT id, updated_on FROM \(kind.table)")
            while let row = try rows.next() { held.rows[row[0]] = .some(row[1]) }
            let tombstones = try Row.fetchCursor(
                db, sql: "SELECT id, updated_on FROM tombstones WHERE entity_type = ?", arguments: [kind.entityType])
            while let row = try tombstones.next() { held.tombstones[row[0]] = .some(row[1]) }
            return held
        }
    }

    func started(_ kind: NexudusKind, at time: Timestamp) async throws {
        try await store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO sync_state (kind, started_at, error) VALUES (?, ?, NULL)
                ON CONFLICT (kind) DO UPDATE SET started_at = excluded.started_at, error = NULL
                """, arguments: [kind.name, time.description])
        }
    }

    func finished(_ report: KindReport, at time: Timestamp) async throws {
        try await store.pool.write { db in
            try db.execute(sql: """
                UPDATE sync_state SET finished_at = ?, error = NULL, listed = ?, fetched = ?, new = ?, changed = ?,
                    deleted = ?, unchanged = ? WHERE kind = ?
                """, arguments: [
                    time.description, report.listed, report.fetched, report.new, report.changed, report.deleted,
                    report.unchanged, report.kind.name,
                ])
        }
    }

    /// A failed run keeps the last completed run's figures and says why this one stopped.
    func failed(_ kind: NexudusKind, error: String, at time: Timestamp) async {
        do {
            try await store.pool.write { db in
                try db.execute(sql: """
                    INSERT INTO sync_state (kind, started_at, error) VALUES (?, ?, ?)
                    ON CONFLICT (kind) DO UPDATE SET error = excluded.error
                    """, arguments: [kind.name, time.description, error])
            }
        } catch {}
    }

    /// Replaces `nexudus_webhooks` with what the API just listed.
    func recordWebhooks(_ webhooks: [NexudusWebhook], at time: Timestamp) async throws {
        try await store.pool.write { db in
            try db.execute(sql: "DELETE FROM nexudus_webhooks")
            let insert = try db.makeStatement(sql: """
                INSERT OR REPLACE INTO nexudus_webhooks
                    (id, business_id, action, url, active, error_count, last_error, last_trigger, seen_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for webhook in webhooks {
                try insert.execute(arguments: [
                    webhook.id, webhook.businessId, webhook.actionName, webhook.url, webhook.active ? 1 : 0,
                    webhook.errorCount, webhook.lastError, webhook.lastTrigger?.description, time.description,
                ])
            }
        }
    }
}

extension SQLiteStore {
    /// Records the account's webhooks as just listed (`nexmirror webhooks`).
    public func recordWebhooks(_ webhooks: [NexudusWebhook]) async throws {
        try await SyncLedger(store: self).recordWebhooks(webhooks, at: .now)
    }
}
