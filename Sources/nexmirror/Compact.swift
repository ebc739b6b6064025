import ArgumentParser
import Foundation
import NexMirrorCore
import NexMirrorStore

struct Compact: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove deliveries older than a time that no longer decide the replica (retention).",
        discussion: """
            Removes from the log the deliveries received before --before that the replica no \
            longer needs: superseded versions of an entity (an older version, or one that lost \
            to a delete) and quarantined deliveries. It keeps, per entity, the winning version \
            and the delete that made its tombstone, every delivery a history table is made of \
            (each invoice delivery is an `invoice_events` row), and deliveries that fold into no \
            table. So `rebuild` gives the same replica and `check` holds: the removed seqs are \
            recorded in `compacted_seqs` (with the run in `compactions`), and `check` counts them \
            without calling them missing. `history` and `--as-of` for times before a compaction \
            say that detail was compacted away.

            Only deliveries already folded by every projection are considered, and they are \
            deleted in short transactions: safe while `serve` runs. On SQLite freed content is \
            zeroed (secure_delete) and the WAL is checkpointed and truncated, so no byte of a \
            removed body stays in the file or its WAL; the file keeps its size and reuses the \
            freed pages. --vacuum then rewrites the whole file (VACUUM): the file shrinks, and \
            stale copies that writes made before secure_delete was on are gone too, but \
            deliveries wait (503 after --lock-timeout) while it runs. On PostgreSQL the \
            `events` table is vacuumed (--vacuum: VACUUM FULL, which locks it).

            Prints deliveries removed per kind and the bytes of their bodies, and the store's \
            size before and after. `serve --compact-after D` runs the same every hour.

            Examples:
              nexmirror compact --before 2025-01-01 --dry-run
              nexmirror compact --before 365d
              nexmirror compact --before 2025-06 --vacuum
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp(
        "Remove only deliveries received before this date or timestamp (any form --from takes), "
            + "or this long ago (400d, 12h).", valueName: "time"))
    var before: String

    @Flag(help: "Only say what would be removed; change nothing.")
    var dryRun = false

    @Flag(help: "Afterwards rewrite the log's storage whole (SQLite VACUUM, PostgreSQL VACUUM FULL): gives space back; blocks writers meanwhile.")
    var vacuum = false

    func validate() throws { _ = try instant }

    /// `--before` as an instant: a time, or a duration back from now.
    var instant: Timestamp {
        get throws {
            if let interval = IntervalArgument(argument: before) {
                let seconds = Double(interval.duration.components.seconds)
                    + Double(interval.duration.components.attoseconds) / 1e18
                return Timestamp(secondsSince1970: Timestamp.now.secondsSince1970 - seconds)
            }
            guard let instant = Timestamp(parsing: ReportFilters.monthStart(before) ?? before) else {
                throw ValidationError("--before '\(before)' is neither a date or timestamp (2025-01-01, 2025-06) nor a duration (400d)")
            }
            return instant
        }
    }

    func run() async throws {
        let store = try await database.openStore(mustExist: true)
        guard let compaction = store as? any StoreCompaction else {
            throw CompactionError.notSupported("this store cannot be compacted")
        }
        let started = Date()
        let summary = try await compaction.compact(before: try instant, dryRun: dryRun, vacuum: vacuum)
        print(CompactionReport(summary: summary, seconds: Date().timeIntervalSince(started)).text, terminator: "")
    }
}

/// `compact`'s summary, also logged by `serve --compact-after`: per kind, then totals.
struct CompactionReport {
    let summary: CompactionSummary
    let seconds: Double

    var text: String {
        let verb = summary.dryRun ? "would remove" : "removed"
        var lines = [
            "\(verb) \(summary.removed) deliveries received before \(summary.before) (\(Self.size(summary.bodyBytes)) of bodies); "
                + "kept \(summary.kept) older ones that still decide the replica or fold into no table",
        ]
        for kind in summary.kinds.keys.sorted() {
            let tally = summary.kinds[kind]!
            lines.append("  \(kind): \(tally.superseded) superseded, \(tally.quarantined) quarantined, \(Self.size(tally.bodyBytes))")
        }
        if !summary.dryRun, summary.removed > 0 {
            lines.append(String(
                format: "store %@ before, %@ after, %@ free for reuse; %.2f s",
                Self.size(summary.bytesBefore), Self.size(summary.bytesAfter), Self.size(summary.bytesFree), seconds))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func size(_ bytes: Int) -> String {
        bytes < 1024 * 1024 ? "\(bytes) bytes" : String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }
}
