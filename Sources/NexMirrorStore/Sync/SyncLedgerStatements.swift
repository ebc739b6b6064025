import NexMirrorCore

/// What `sync` and `webhooks` write to `sync_state` and `nexudus_webhooks`, the same on every
/// backend: each function's statements are one write transaction. Timestamps are stored as the
/// same 7-digit text, figures as integers and `active` as 0/1 everywhere.
public enum SyncLedgerStatements {
    /// A run of `kind` began: its start time, and no error (the last figures stay until it ends).
    public static func started(kind: String, at time: Timestamp, _ dialect: SQLDialect) -> [SQLStatement] {
        let p = dialect.parameter
        return [SQLStatement("""
            INSERT INTO sync_state (kind, started_at, error) VALUES (\(p(1)), \(p(2)), NULL)
            ON CONFLICT (kind) DO UPDATE SET started_at = excluded.started_at, error = NULL
            """, [.text(kind), .text(time.description)])]
    }

    /// A run completed: its figures and end time, clearing any error.
    public static func finished(_ figures: SyncFigures, at time: Timestamp, _ dialect: SQLDialect) -> [SQLStatement] {
        let p = dialect.parameter
        let counts = [figures.listed, figures.fetched, figures.new, figures.changed, figures.deleted, figures.unchanged]
        return [SQLStatement("""
            UPDATE sync_state SET finished_at = \(p(1)), error = NULL, listed = \(p(2)), fetched = \(p(3)), new = \(p(4)),
                changed = \(p(5)), deleted = \(p(6)), unchanged = \(p(7))
            WHERE kind = \(p(8))
            """, [.text(time.description)] + counts.map(integer) + [.text(figures.kind)])]
    }

    /// A run stopped: the last completed run's figures stay, and `error` says why this one stopped.
    public static func failed(kind: String, error: String, at time: Timestamp, _ dialect: SQLDialect) -> [SQLStatement] {
        let p = dialect.parameter
        return [SQLStatement("""
            INSERT INTO sync_state (kind, started_at, error) VALUES (\(p(1)), \(p(2)), \(p(3)))
            ON CONFLICT (kind) DO UPDATE SET error = excluded.error
            """, [.text(kind), .text(time.description), .text(error)])]
    }

    /// The outcome of a check of `kind`'s batch form.
    public static func fetchMode(_ mode: FetchMode, kind: String, _ dialect: SQLDialect) -> [SQLStatement] {
        let p = dialect.parameter
        return [SQLStatement("""
            INSERT INTO sync_state (kind, fetch_mode, fetch_note, fetch_checked_at) VALUES (\(p(1)), \(p(2)), \(p(3)), \(p(4)))
            ON CONFLICT (kind) DO UPDATE SET fetch_mode = excluded.fetch_mode, fetch_note = excluded.fetch_note,
                fetch_checked_at = excluded.fetch_checked_at
            """, [.text(kind), .text(mode.form.rawValue), mode.note.map(Cell.text) ?? .null, .text(mode.checkedAt.description)])]
    }

    /// `nexudus_webhooks` replaced by what the API listed; an id listed twice keeps its last listing.
    public static func replaceWebhooks(_ webhooks: [WebhookRecord], seenAt time: Timestamp, _ dialect: SQLDialect)
        -> [SQLStatement]
    {
        let p = dialect.parameter
        let insert = """
            INSERT INTO nexudus_webhooks (id, business_id, action, url, active, error_count, last_error, last_trigger, seen_at)
            VALUES (\((1...9).map(p).joined(separator: ", ")))
            ON CONFLICT (id) DO UPDATE SET business_id = excluded.business_id, action = excluded.action,
                url = excluded.url, active = excluded.active, error_count = excluded.error_count,
                last_error = excluded.last_error, last_trigger = excluded.last_trigger, seen_at = excluded.seen_at
            """
        return [SQLStatement("DELETE FROM nexudus_webhooks")] + webhooks.map { webhook in
            SQLStatement(insert, [
                .integer(webhook.id), webhook.businessId.map(Cell.integer) ?? .null, webhook.action.map(Cell.text) ?? .null,
                .text(webhook.url), .integer(webhook.active ? 1 : 0), webhook.errorCount.map(integer) ?? .null,
                webhook.lastError.map(Cell.text) ?? .null, webhook.lastTrigger.map { .text($0.description) } ?? .null,
                .text(time.description),
            ])
        }
    }

    /// Counts are `integer` columns (32 bits on PostgreSQL): a count beyond that is stored as its limit.
    private static func integer(_ count: Int) -> Cell { .integer(Int64(Int32(clamping: count))) }
}
