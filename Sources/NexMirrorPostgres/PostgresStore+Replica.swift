import NexMirrorProjections
import NexMirrorStore
import PostgresNIO

extension PostgresStore {
    /// A fold never blocks an append here (they lock different rows), and each batch costs a
    /// dozen round trips whatever its size: large batches let a projector that fell behind under
    /// load catch up, where 100 a batch left it further behind the longer the load lasted.
    public var foldBatchSize: Int { 1000 }

    public func foldPending(limit: Int = 500) async throws -> Int {
        let client = client, logger = logger
        do {
            return try await statement("fold the log into the replica") {
                // Bounded: a commit on a primary demoted under it waits for ever for the
                // synchronous standby that was promoted away, and the projector must move on
                // to the pool the failover finds (the checkpoint lock keeps a late commit from
                // folding anything twice).
                try await withDeadline(.seconds(120), "fold a batch of the log") {
                    try await PostgresFolder(client: client, logger: logger).foldPending(limit: limit)
                }
            }
        } catch let error as DeadlineExceeded {
            recover(after: error)
            throw PostgresStatementError.failed(doing: "fold the log into the replica", reason: "\(error)")
        }
    }

    public func progress() async throws -> (lastSeq: Int64, checkpoint: Int64) {
        try await statement("read the log's end and the projections' checkpoints") { try await readProgress() }
    }

    private func readProgress() async throws -> (lastSeq: Int64, checkpoint: Int64) {
        for try await (last, checkpoint) in try await client.query("""
            SELECT (SELECT last_seq FROM log_head), (SELECT coalesce(min(checkpoint), 0) FROM projections)
            """).decode((Int64, Int64).self) {
            return (last, checkpoint)
        }
        return (0, 0)
    }

    /// Registers projections new to this database; returns those whose version changed (they
    /// need `nexmirror rebuild`).
    @discardableResult
    public func registerProjections() async throws -> [String] {
        var stale: [String] = []
        for projection in Projections.all {
            try await client.query("""
                INSERT INTO projections (name, version, checkpoint) VALUES (\(projection.name), \(Int64(projection.version)), 0)
                ON CONFLICT (name) DO NOTHING
                """)
            for try await version in try await client.query(
                "SELECT version FROM projections WHERE name = \(projection.name)"
            ).decode(Int64.self) where version != projection.version {
                stale.append(projection.name)
            }
        }
        return stale
    }
}
