import ArgumentParser
import Foundation
import NexMirrorStore

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one read-only SQL statement on the replica and the event log.",
        discussion: """
            The connection is opened read-only, and any statement that would change a database is \
            refused before it runs (INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, REINDEX, ANALYZE, \
            VACUUM, ATTACH, DETACH, PRAGMA NAME = VALUE, transaction control). One statement per call: a script of several statements is \
            refused, so the output is always one result set.

            --format defaults to `table` on a terminal and `csv` when the output is piped or \
            redirected. csv is RFC 4180 (CRLF line endings); tsv escapes tabs and newlines as \\t \
            and \\n; json is one array of objects, jsonl one object per line, both keeping numbers \
            as numbers and NULL as null. Reals print in their shortest exact form (1608.54).

            --param NAME=VALUE binds :NAME, @NAME or $NAME. A VALUE that is an integer (42, -7) \
            is bound as an integer, a plain decimal (1608.54) as a real, anything else (007, \
            1e5, 2026-03-02, text) as text. Comparisons with a column convert by the column's \
            type anyway; write CAST(:NAME AS TEXT) to force text.

            Examples:
              nexmirror query "SELECT full_name, email FROM members ORDER BY full_name"
              nexmirror query --format json --param min=1000 \\
                "SELECT invoice_number FROM invoices WHERE total_amount >= :min"
              echo "SELECT count(*) FROM events" | nexmirror query -
              nexmirror query --as-of 2026-01-01 "SELECT count(*) FROM members"

            --as-of T answers from the replica as it stood at T: the fold of every delivery whose \
            version time (its UpdatedOn; without one, its received_at) is at or before T, built \
            aside in a scratch database (on PostgreSQL, in TEMP tables of the command's own \
            session; the live replica is only read); it costs about a rebuild of those deliveries. T is a date (the start of that day, UTC) or a timestamp.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var asOf: AsOfOptions

    @Option(help: "table, csv, tsv, json, jsonl or markdown (default: table on a terminal, else csv).")
    var format: OutputFormat?

    @Option(
        name: .customLong("param"),
        help: ArgumentHelp("Bind :NAME in the SQL to VALUE (repeatable).", valueName: "NAME=VALUE"))
    var parameters: [String] = []

    @Argument(help: "The SQL statement, or - to read it from standard input.")
    var sql: String

    func validate() throws {
        _ = try QueryParameters(parameters)
        _ = try asOf.instant
    }

    func run() async throws {
        let text = sql == "-" ? String(decoding: Terminal.readAllStandardInput(), as: UTF8.self) : sql
        let parameters = try QueryParameters(self.parameters)
        let reader = try await database.openLogReader(asOf: try asOf.instant)
        await CompactionNote.forAsOf(database, instant: try asOf.instant)
        var writer = (format ?? .automatic).writer(to: BufferedOutput())
        try await reader.query(text, parameters: parameters, into: &writer)
    }
}
