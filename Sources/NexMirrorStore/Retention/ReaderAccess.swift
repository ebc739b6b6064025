import NexMirrorProjections

/// `grant-reader` (SPEC §6 "Access"): a database role that reads the replica and nothing else.
/// Only PostgreSQL has roles; a SQLite file is readable whole or not at all.
public protocol ReaderAccess: Sendable {
    /// Makes `role` able to SELECT the replica tables and views (`ReaderRelations.all`) and
    /// nothing else in nexmirror's schema, whatever it held before; remembered, so a rebuild's
    /// new tables are granted too. Returns the relations granted.
    func grantReader(role: String) async throws -> [String]
}

/// The relations a `grant-reader` role may read.
public enum ReaderRelations {
    /// What a reader may see: each projection's tables, `tombstones` and the `members` view.
    /// Never the log (`events`, `rejections`), sync state, erasure or compaction records,
    /// checkpoints, or anything holding a token.
    public static var all: [String] {
        Projections.all.flatMap(\.ownedTables) + ["tombstones", "members"]
    }
}

/// Why `grant-reader` granted nothing; each message says what to do.
public enum ReaderAccessError: Error, Equatable, CustomStringConvertible {
    case noSuchRole(String)
    case failed(database: String, reason: String)

    public var description: String {
        switch self {
        case .noSuchRole(let role): "role \"\(role)\" does not exist; create it first (CREATE ROLE \(role) LOGIN PASSWORD '…')"
        case .failed(let database, let reason): "cannot grant on \(database): \(reason)"
        }
    }
}
