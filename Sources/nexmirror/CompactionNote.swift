import Foundation
import NexMirrorCore
import NexMirrorStore

/// The line `history` and `--as-of` print on stderr when `compact` removed detail they would
/// have shown (SPEC §10): the output stays what the remaining log says, and the reader knows.
enum CompactionNote {
    /// The latest compaction's `before` and the deliveries all compactions removed; nil when
    /// the log was never compacted (or predates compaction).
    static func latest(_ database: DatabaseOptions) async -> (before: String, removed: Int64)? {
        var rows = CollectedCells()
        do {
            let reader = try await database.openLogReader()
            try await reader.query(
                "SELECT max(before), sum(removed) FROM compactions WHERE removed > 0", parameters: try QueryParameters([]),
                into: &rows)
        } catch {
            return nil
        }
        guard case .text(let before)? = rows.rows.first?.first else { return nil }
        let removed: Int64 = switch rows.rows.first?.last {
        case .integer(let count)?: count
        case .decimal(let text)?: Int64(text) ?? 0
        default: 0
        }
        return (before, removed)
    }

    /// For `history`: superseded and quarantined deliveries received before the latest
    /// compaction's time are no longer in the log.
    static func forHistory(_ database: DatabaseOptions) async {
        guard let latest = await latest(database) else { return }
        Terminal.printError(
            "note: deliveries received before \(latest.before) that no longer decided the replica were compacted away "
                + "(\(latest.removed) in all): superseded versions from before then are not listed")
    }

    /// For `--as-of T` with T before the latest compaction's time.
    static func forAsOf(_ database: DatabaseOptions, instant: Timestamp?) async {
        guard let instant, let latest = await latest(database), instant.description < latest.before else { return }
        Terminal.printError(
            "note: detail before \(latest.before) was compacted away: as of \(instant) an entity shows the latest "
                + "version received before then that still decides the replica, or none")
    }
}

/// Rows collected as cells, for the one small result `CompactionNote` reads.
private struct CollectedCells: RowWriter {
    var rows: [[Cell]] = []
    mutating func begin(columns: [String]) throws {}
    mutating func write(_ row: [Cell]) throws { rows.append(row) }
    mutating func end() throws {}
}
