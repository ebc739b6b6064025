import NexMirrorStore

/// What does not run on PostgreSQL yet. Every refusal of a PostgreSQL `--db` is built from this
/// one list, so its wording stays true as gaps close: when one lands, remove its name here.
/// (`backup` refuses with its own line pointing to `pg_dump`; it is listed so the others name it.)
enum PostgreSQLGaps {
    static let notYet = ["backup"]

    /// The one-line refusal of `what` (a command or option, or "this command") on PostgreSQL.
    static func refusal(_ what: String) -> StoreError {
        .unsupportedBackend(
            "\(what) does not run on PostgreSQL yet (of all commands and options only \(listed) \(notYet.count == 1 ? "does" : "do") not); "
                + "--db (or NEXMIRROR_DB) must be a SQLite file path for it, or use psql meanwhile")
    }

    /// `a`, `a and b`, `a, b and c`.
    static var listed: String {
        guard let last = notYet.last else { return "none" }
        let rest = notYet.dropLast()
        return rest.isEmpty ? last : rest.joined(separator: ", ") + " and " + last
    }
}
