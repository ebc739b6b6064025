extension EventStore {
    /// Folds the log into the replica until it has caught up: batches of `limit` (the store's
    /// `foldBatchSize` by default) until one comes back short, so a folded log costs no extra
    /// transaction to find nothing. `progress` hears the running count after each batch.
    ///
    /// With `waitingUpTo`, also waits (polling) for the checkpoint to reach the log's end as it
    /// stood at the start, for at most that long: on PostgreSQL another process may hold the
    /// batch (the fold is fenced, and this one then folds nothing). Returns how many deliveries
    /// this process folded.
    @discardableResult
    public func foldUntilCaughtUp(
        limit: Int? = nil, waitingUpTo patience: Duration? = nil, progress: (Int) -> Void = { _ in }
    ) async throws -> Int {
        let limit = limit ?? foldBatchSize
        var target: Int64?
        if patience != nil { target = try await self.progress().lastSeq }
        let deadline = ContinuousClock.now + (patience ?? .zero)
        var folded = 0
        while true {
            let count = try await foldPending(limit: limit)
            folded += count
            if count > 0 { progress(folded) }
            if count == limit { continue }
            guard let target, ContinuousClock.now < deadline, try await self.progress().checkpoint < target else {
                return folded
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
