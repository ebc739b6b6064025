import NexMirrorCore

/// What `compact` removed (or, in a dry run, would remove), for its summary.
public struct CompactionSummary: Sendable, Equatable {
    /// Deliveries removed of one kind (entity type, or the action for one without).
    public struct Kind: Sendable, Equatable {
        public var superseded = 0
        public var quarantined = 0
        public var bodyBytes = 0
        public init(superseded: Int = 0, quarantined: Int = 0, bodyBytes: Int = 0) {
            self.superseded = superseded
            self.quarantined = quarantined
            self.bodyBytes = bodyBytes
        }
        public var deliveries: Int { superseded + quarantined }
    }

    public let before: Timestamp
    public let dryRun: Bool
    public package(set) var kinds: [String: Kind] = [:]
    /// Deliveries received before `before` that stay: they still decide the replica, or fold
    /// into no table.
    public package(set) var kept = 0
    /// The store's size before and after (SQLite: the file; PostgreSQL: the `events` table).
    public package(set) var bytesBefore = 0
    public package(set) var bytesAfter = 0
    /// Space the store holds free for reuse after the run (SQLite: free pages).
    public package(set) var bytesFree = 0

    public init(before: Timestamp, dryRun: Bool) {
        self.before = before
        self.dryRun = dryRun
    }

    public var removed: Int { kinds.values.reduce(0) { $0 + $1.deliveries } }
    public var bodyBytes: Int { kinds.values.reduce(0) { $0 + $1.bodyBytes } }

    package mutating func count(kind: String, quarantined: Bool, bytes: Int) {
        var tally = kinds[kind] ?? Kind()
        if quarantined { tally.quarantined += 1 } else { tally.superseded += 1 }
        tally.bodyBytes += bytes
        kinds[kind] = tally
    }

    /// `kinds` as the JSON object `compactions.kinds` records (deliveries per kind, sorted).
    package var kindsJSON: String {
        "{" + kinds.keys.sorted().map { "\"\($0)\":\(kinds[$0]!.deliveries)" }.joined(separator: ",") + "}"
    }
}
