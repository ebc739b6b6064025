/// The order of versions of one entity (SPEC §4.3): greatest `UpdatedOn`, then deletes over
/// creates and updates, then the later log position. A delete without `UpdatedOn` is final; a
/// create or update without one is older than any dated version.
///
/// `updatedOn` is the canonical 7-digit UTC text (`Timestamp.description`), so text order is
/// time order at full 100 ns precision on every backend.
public struct FoldVersion: Comparable, Sendable, CustomStringConvertible {
    public let updatedOn: String?
    public let isDelete: Bool
    public let seq: Int64

    public init(updatedOn: String?, isDelete: Bool, seq: Int64) {
        self.updatedOn = updatedOn
        self.isDelete = isDelete
        self.seq = seq
    }

    /// The text a version is ordered by: its `UpdatedOn`, or without one "~", after every date,
    /// for a delete (final), and "", before all, for a create or update.
    public static func instant(_ updatedOn: String?, isDelete: Bool) -> String {
        updatedOn ?? (isDelete ? "~" : "")
    }

    private var instant: String { Self.instant(updatedOn, isDelete: isDelete) }

    public static func < (lhs: FoldVersion, rhs: FoldVersion) -> Bool {
        (lhs.instant, lhs.isDelete ? 1 : 0, lhs.seq) < (rhs.instant, rhs.isDelete ? 1 : 0, rhs.seq)
    }

    public var description: String { "\(isDelete ? "delete" : "version") \(instant) #\(seq)" }
}

/// What folding one delivery changes in the replica; a set, so deciding allocates nothing in
/// the fold's hot loop.
public struct ReplicaChanges: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The delivery's row in its projection's history table (one per delivery, winner or not).
    public static let insertHistory = ReplicaChanges(rawValue: 1 << 0)
    /// Replace the entity's row (and its child rows) with this delivery's.
    public static let upsertRow = ReplicaChanges(rawValue: 1 << 1)
    /// Remove the entity's row and its child rows.
    public static let deleteRow = ReplicaChanges(rawValue: 1 << 2)
    /// Record this delete as the entity's tombstone.
    public static let writeTombstone = ReplicaChanges(rawValue: 1 << 3)

    public var description: String {
        let names = [(Self.insertHistory, "insertHistory"), (.upsertRow, "upsertRow"), (.deleteRow, "deleteRow"),
                     (.writeTombstone, "writeTombstone")]
        return "[" + names.filter { contains($0.0) }.map(\.1).joined(separator: ", ") + "]"
    }
}

/// The fold rule (SPEC §4.3) as one pure decision, shared by every backend: each entity holds
/// its greatest version, tombstones hold its greatest delete, history holds every delivery. The
/// outcome depends only on the versions, so any order and duplication of deliveries converges.
public enum FoldRule {
    /// - Parameters:
    ///   - incoming: the delivery's version.
    ///   - row: the version of the entity's current row, if it has one.
    ///   - tombstone: the version of the entity's tombstone, if it has one.
    public static func changes(incoming: FoldVersion, row: FoldVersion?, tombstone: FoldVersion?) -> ReplicaChanges {
        var changes: ReplicaChanges = .insertHistory
        let wins = Self.wins(incoming, row: row, tombstone: tombstone)
        if incoming.isDelete {
            if tombstone.map({ incoming > $0 }) ?? true { changes.insert(.writeTombstone) }
            if wins, row != nil { changes.insert(.deleteRow) }
        } else if wins {
            changes.insert(.upsertRow)
        }
        return changes
    }

    /// Whether `incoming` becomes the entity's state: it is greater than its row's version and
    /// its tombstone's.
    public static func wins(_ incoming: FoldVersion, row: FoldVersion?, tombstone: FoldVersion?) -> Bool {
        held(row: row, tombstone: tombstone).map { incoming > $0 } ?? true
    }

    /// The version the entity stands at: its row's or its tombstone's, whichever is greater.
    public static func held(row: FoldVersion?, tombstone: FoldVersion?) -> FoldVersion? {
        guard let row else { return tombstone }
        guard let tombstone else { return row }
        return Swift.max(row, tombstone)
    }
}
