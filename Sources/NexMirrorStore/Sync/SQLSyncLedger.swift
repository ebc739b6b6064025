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
