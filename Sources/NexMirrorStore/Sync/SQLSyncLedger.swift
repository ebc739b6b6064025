import NexMirrorCore

/// A `SyncLedger` on a SQL store: every write is `SyncLedgerStatements`, run in one write
/// transaction of the executor the backend lends. `doing` says what a write was for, which a
/// backend puts in the one line a database error becomes.
public protocol SQLSyncLedger: SyncLedger {
    func ledgerExecutor(doing: String) -> any SQLExecutor
}

extension SQLSyncLedger {
    public func syncStarted(kind: String, at time: Timestamp) async throws {
        try await write("record the start of the \(kind) sync in sync_state") { SyncLedgerStatements.started(kind: kind, at: time, $0) }
    }

    public func syncFinished(_ figures: SyncFigures, at time: Timestamp) async throws {
        try await write("record the \(figures.kind) sync's figures in sync_state") { SyncLedgerStatements.finished(figures, at: time, $0) }
    }

    public func syncFailed(kind: String, error: String, at time: Timestamp) async throws {
        try await write("record why the \(kind) sync stopped in sync_state") {
            SyncLedgerStatements.failed(kind: kind, error: error, at: time, $0)
        }
    }

    public func recordFetchMode(_ mode: FetchMode, kind: String) async throws {
        try await write("record how the \(kind) sync fetches in sync_state") { SyncLedgerStatements.fetchMode(mode, kind: kind, $0) }
    }

    public func replaceWebhooks(_ webhooks: [WebhookRecord], seenAt time: Timestamp) async throws {
        try await write("record the account's webhooks in nexudus_webhooks") {
            SyncLedgerStatements.replaceWebhooks(webhooks, seenAt: time, $0)
        }
    }

    private func write(_ doing: String, _ statements: (SQLDialect) -> [SQLStatement]) async throws {
        let executor = ledgerExecutor(doing: doing)
        _ = try await executor.write(statements(executor.dialect))
    }
}

extension HeldVersions {
    /// The two reads of `heldVersions(of:)`, in one read transaction: the rows of `kind` (from
    /// its checked table) and its tombstones, each as (id, updated_on).
    public static func statements(_ kind: HeldKind, _ dialect: SQLDialect) throws -> [SQLStatement] {
        let table = try kind.checkedTable
        let p = dialect.parameter
        let type = Cell.text(kind.entityType)
        // `table` is one of the replica's own (HeldKind.checkedTable), never input.
        return [
            table == "entities"
                ? SQLStatement("SELECT id, updated_on FROM entities WHERE entity_type = \(p(1))", [type])
                : SQLStatement("SELECT id, updated_on FROM \(table)"),
            SQLStatement("SELECT id, updated_on FROM tombstones WHERE entity_type = \(p(1))", [type]),
        ]
    }

    /// The versions from the rows of `statements`.
    public init(_ results: [[[Cell]]]) {
        func versions(_ rows: [[Cell]]) -> [Int64: String?] {
            var versions: [Int64: String?] = [:]
            versions.reserveCapacity(rows.count)
            for row in rows {
                guard case .integer(let id) = row[0] else { continue }
                if case .text(let updatedOn) = row[1] { versions[id] = .some(updatedOn) } else { versions[id] = .some(nil) }
            }
            return versions
        }
        self.init(rows: versions(results[0]), tombstones: versions(results[1]))
    }
}

extension FetchMode {
    /// The modes per kind from rows of (kind, fetch_mode, fetch_note, fetch_checked_at); a row
    /// with no mode or no time of check (or one this version cannot read) says nothing.
    public static func byKind(_ rows: [[Cell]]) -> [String: FetchMode] {
        var modes: [String: FetchMode] = [:]
        for row in rows {
            guard case .text(let kind) = row[0], case .text(let mode) = row[1], let form = Form(rawValue: mode),
                case .text(let checked) = row[3], let checkedAt = Timestamp(parsing: checked)
            else { continue }
            let note: String? = if case .text(let note) = row[2] { note } else { nil }
            modes[kind] = FetchMode(form: form, note: note, checkedAt: checkedAt)
        }
        return modes
    }
}
