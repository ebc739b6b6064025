import ArgumentParser
import Foundation
import NexMirrorCore
import NexMirrorStore

/// `--as-of T` on `query` and `export`: opens the replica as it stood at T, built aside.
struct AsOfOptions: ParsableArguments {
    @Option(
        name: .customLong("as-of"),
        help: ArgumentHelp(
            "Read the replica as it stood at this date or timestamp (folded aside from the log; "
                + "the live replica is untouched).", valueName: "time"))
    var asOf: String?

    var instant: Timestamp? {
        get throws {
            try asOf.map { text in
                // Any form --from takes (SPEC §8): a month stands for its first instant.
                guard let instant = Timestamp(parsing: ReportFilters.monthStart(text) ?? text) else {
                    throw ReportError.badTime(option: "--as-of", text: text)
                }
                return instant
            }
        }
    }
}
