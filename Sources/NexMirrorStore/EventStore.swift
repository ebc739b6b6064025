import NexMirrorCore

/// The durable event log and the replica folded from it, as the receiver and the projector use
/// them. One implementation per backend (SQLite now; PostgreSQL for several receivers later).
public protocol EventStore: Sendable {
    /// Appends deliveries in one durable commit, in order. A delivery whose action and body
    /// bytes are already in the log is not appended again; its existing position is returned.
    func append(_ deliveries: [NewDelivery]) async throws -> [AppendResult]

    /// Keeps signature rejections' metadata in a bounded table, in one commit that need not
    /// reach the disk before returning (they are diagnostics, not deliveries).
    func recordRejections(_ rejections: [Rejection]) async throws

    /// True when a write transaction can be started now.
    func isWritable() async -> Bool

    /// Folds deliveries logged after the projections' checkpoints, at most `limit` of them, and
    /// returns how many were read.
    func foldPending(limit: Int) async throws -> Int

    /// How many deliveries the projector folds per transaction on this store.
    var foldBatchSize: Int { get }

    /// The last log position and the lowest projection checkpoint.
    func progress() async throws -> (lastSeq: Int64, checkpoint: Int64)

    /// Commits made by other processes on the same store, as a wake-up for the projector.
    func commitsElsewhere() -> AsyncStream<Void>?
}

extension EventStore {
    /// Commits made by other processes on the same store, as a wake-up for the projector (on
    /// PostgreSQL, LISTEN/NOTIFY); nil where this process is the only writer.
    public func commitsElsewhere() -> AsyncStream<Void>? { nil }
}

/// A store opened for writing by the CLI (`import`, `rebuild`): the log and the replica, with
/// the projections' bookkeeping.
public protocol ReplicaStore: EventStore {
    /// Registers projections new to the store and rebuilds those whose version changed;
    /// returns the names rebuilt.
    @discardableResult
    func registerProjectionsAndRebuildChanged(progress: ((RebuildProgress) -> Void)?) async throws -> [String]

    /// Refolds the named projections (all when nil or empty) from the whole log aside, then
    /// swaps them in atomically, also while other processes keep appending; `swap` says how long
    /// the swap may wait for readers of the live tables where they can block it.
    func rebuild(
        projectionNames: [String]?, swap: SwapPolicy, progress: ((RebuildProgress) -> Void)?
    ) async throws -> RebuildSummary
}

extension ReplicaStore {
    /// A rebuild whose swap waits as `SwapPolicy.standard` says.
    public func rebuild(projectionNames: [String]?, progress: ((RebuildProgress) -> Void)?) async throws -> RebuildSummary {
        try await rebuild(projectionNames: projectionNames, swap: .standard, progress: progress)
    }
}
