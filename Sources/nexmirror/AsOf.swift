import ArgumentParser
import Foundation
import GRDB
import NexMirrorCore
import NexMirrorSQLite
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
                    throw CLIError(
                        "--as-of expects a date (2026-03-01), a month (2026-03) or a timestamp (2026-03-01T09:00:00Z), got '\(text)'")
                }
                return instant
            }
        }
    }

    /// The live database read-only, or the as-of copy (kept alive by the returned replica).
    func open(_ database: DatabaseOptions) throws -> (queue: DatabaseQueue, replica: AsOfReplica?) {
        let live = try ReadOnlyDatabase.open(database)
        guard let instant = try instant else { return (live, nil) }
        let replica: AsOfReplica
        do {
            replica = try AsOfReplica(livePath: database.path, asOf: instant)
        } catch let error as DatabaseError {
            throw CLIError("cannot build the replica as of \(instant): \(ReadOnlyDatabase.oneLine(error))")
        }
        let queue = try ReadOnlyDatabase.open(DatabaseOptions(db: replica.path))
        do {
            try queue.inDatabase { db in try replica.attachLog(db) }
        } catch let error as DatabaseError {
            throw CLIError("cannot read the log as of \(instant): \(ReadOnlyDatabase.oneLine(error))")
        }
        return (queue, replica)
    }
}

extension DatabaseOptions {
    init(db: String) {
        self.init()
        self.db = db
    }
}
