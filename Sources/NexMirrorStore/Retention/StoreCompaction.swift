import NexMirrorCore

/// Retention (SPEC §10): removes deliveries received before a time that no longer decide the
/// replica, so personal data is kept no longer than needed. One implementation per backend.
public protocol StoreCompaction: Sendable {
    /// Removes (or, with `dryRun`, only counts) the deliveries received before `before` that
    /// `CompactionRule` says the fold no longer needs, records the removed seqs in
    /// `compacted_seqs` and the run in `compactions`, and leaves no byte of them in the store's
    /// files (SQLite) or tables (PostgreSQL). Safe while `serve` runs: only deliveries already
    /// folded by every projection are considered, in short transactions. With `vacuum`, the
    /// log's storage is then rewritten whole (SQLite `VACUUM`, PostgreSQL `VACUUM FULL`), which
    /// gives the space back to the file system but locks out writers while it runs.
    func compact(before: Timestamp, dryRun: Bool, vacuum: Bool) async throws -> CompactionSummary
}

/// Why `compact` stopped; each message says what to do.
public enum CompactionError: Error, Equatable, CustomStringConvertible {
    case failed(database: String, reason: String)
    case notSupported(String)

    public var description: String {
        switch self {
        case .failed(let database, let reason): "cannot compact \(database): \(reason)"
        case .notSupported(let why): why
        }
    }
}
