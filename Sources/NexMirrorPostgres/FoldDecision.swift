/// The order of versions of one entity (SPEC §4.3), as the SQLite fold applies it: greatest
/// `UpdatedOn` (7-digit UTC text, so text order is time order at 100 ns), then deletes over
/// creates and updates, then the later log position. A delete without `UpdatedOn` is final; a
/// create or update without one is older than any dated version.
struct PGFoldVersion: Comparable {
    let instant: String
    let deleteRank: Int
    let seq: Int64

    init(updatedOn: String?, isDelete: Bool, seq: Int64) {
        instant = updatedOn ?? (isDelete ? "~" : "")
        deleteRank = isDelete ? 1 : 0
        self.seq = seq
    }

    static func < (lhs: PGFoldVersion, rhs: PGFoldVersion) -> Bool {
        (lhs.instant, lhs.deleteRank, lhs.seq) < (rhs.instant, rhs.deleteRank, rhs.seq)
    }
}

/// What one delivery does to its entity, given the versions the replica holds.
struct PGFoldDecision: Equatable {
    var writeTombstone = false
    var deleteRow = false
    var upsertRow = false

    init(incoming: PGFoldVersion, isDelete: Bool, row: PGFoldVersion?, tombstone: PGFoldVersion?) {
        let current = [row, tombstone].compactMap { $0 }.max()
        let wins = current.map { incoming > $0 } ?? true
        if isDelete {
            writeTombstone = tombstone.map { incoming > $0 } ?? true
            deleteRow = wins && row != nil
        } else {
            upsertRow = wins
        }
    }
}
