import NexMirrorCore

/// What `sync` and `webhooks` record besides the log, on any backend: `sync_state` per kind
/// (the drift `status` shows) and `nexudus_webhooks`. Never the token, which `query` could read.
public protocol SyncLedger: EventStore, HeldVersionReader {
    /// A run of `kind` began: its start time, and no error (the last figures stay until it ends).
    func syncStarted(kind: String, at time: Timestamp) async throws

    /// A run completed: its figures and end time, clearing any error.
    func syncFinished(_ figures: SyncFigures, at time: Timestamp) async throws

    /// A run stopped: keeps the last completed run's figures and says why this one stopped.
    func syncFailed(kind: String, error: String, at time: Timestamp) async throws

    /// The outcome of a check of `kind`'s batch form (`sync_state.fetch_*`).
    func recordFetchMode(_ mode: FetchMode, kind: String) async throws

    /// Replaces `nexudus_webhooks` with what the API just listed, in one commit.
    func replaceWebhooks(_ webhooks: [WebhookRecord], seenAt time: Timestamp) async throws
}
