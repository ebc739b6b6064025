import NexMirrorCore
import NexMirrorStore

/// `status`, `GET /api/status` and the dashboard on PostgreSQL: the shared report, gathered in
/// one read-only snapshot. The database's size (`pg_database_size`) stands for the log file's;
/// PostgreSQL's WAL is the cluster's, not this database's, so `wal_bytes` is 0.
extension PostgresStore: StatusReporting {
    public func statusReport(now: Timestamp, silence: SilenceRule) async throws -> StatusReport {
        try await StatusReport.read(
            from: executor, database: url.description, now: now, silence: silence,
            size: SQLStatement("SELECT pg_database_size(current_database())"))
    }
}

extension PostgresReader {
    public func statusReport(now: Timestamp, silence: SilenceRule) async throws -> StatusReport {
        try await store.statusReport(now: now, silence: silence)
    }
}
