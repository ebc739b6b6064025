import ArgumentParser
import Foundation
import GRDB
import NexMirrorCore
import NexMirrorSQLite
import NexMirrorStore

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Browse the event log: list deliveries, or show one's body exactly as received.",
        discussion: """
            `events` (or `events list`) prints the newest deliveries, oldest of them first, so the \
            latest is on the last line; --limit 0 prints all that match. `events show SEQ` writes \
            the body exactly as received to standard output and its metadata to standard error.

            Examples:
              nexmirror events --quarantined
              nexmirror events --action CoworkerInvoicePaid --since 2026-03-01 --limit 10
              nexmirror events --entity Coworker:1419000582 --format json
              nexmirror events show 42 > body.json
            """,
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List deliveries: seq, received_at, action, entity, updated_on, status, error, source, bytes.",
            discussion: """
                Filters combine: --action (name or id), --entity TYPE:ID (e.g. Coworker:1419000582, \
                CoworkerInvoice:1419044866, or a table as in `history`: invoices:1419044866), --quarantined (deliveries kept but not folded, with the \
                reason in `error`), --since (a date or timestamp, compared with received_at, UTC). \
                The newest --limit matches are printed, oldest first. --format as for `query`.

                Example:
                  nexmirror events --quarantined --format jsonl
                """)

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("Only deliveries of this action (name or id).", valueName: "action"))
        var action: String?

        @Option(help: ArgumentHelp("Only deliveries about this entity, TYPE:ID.", valueName: "type:id"))
        var entity: String?

        @Flag(help: "Only quarantined deliveries.")
        var quarantined = false

        @Option(help: ArgumentHelp("Only deliveries received at or after this date or timestamp.", valueName: "time"))
        var since: String?

        @Option(help: "How many of the newest matching deliveries to print; 0 for all.")
        var limit = 50

        @Option(help: "table, csv, tsv, json, jsonl or markdown (default: table on a terminal, else csv).")
        var format: OutputFormat?

        func run() async throws {
            var conditions: [String] = []
            var arguments: [String: (any DatabaseValueConvertible)?] = [:]
            if let action {
                guard let known = ActionCatalog.action(named: action) else {
                    throw CLIError("unknown action '\(action)'; `nexmirror actions` lists them")
                }
                conditions.append("action = :action")
                arguments["action"] = known.name
            }
            if let entity {
                let (types, id) = try Self.entity(entity)
                let names = types.indices.map { ":type\($0)" }
                conditions.append("entity_type IN (\(names.joined(separator: ", "))) AND entity_id = :id")
                for (index, type) in types.enumerated() { arguments["type\(index)"] = type }
                arguments["id"] = id
            }
            if quarantined { conditions.append("status = 'quarantined'") }
            if let since {
                guard let instant = Timestamp(parsing: since) else {
                    throw CLIError("--since expects a date (2026-03-01) or a timestamp (2026-03-01T09:00:00Z), got '\(since)'")
                }
                conditions.append("received_at >= :since")
                arguments["since"] = instant.description
            }
            guard limit >= 0 else { throw CLIError("--limit must be 0 (all) or more") }
            arguments["limit"] = limit == 0 ? -1 : limit
            let sql = """
                SELECT * FROM (
                    SELECT seq, received_at, action, entity_type, entity_id, updated_on, status, error, source,
                           length(body) AS bytes
                    FROM events\(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
                    ORDER BY seq DESC LIMIT :limit)
                ORDER BY seq
                """
            let queue = try ReadOnlyDatabase.open(database)
            var writer = (format ?? .automatic).writer(to: BufferedOutput())
            try ReadOnlyDatabase.read(queue) { db in
                let statement = try db.makeStatement(sql: sql)
                try writer.write(statement, arguments: StatementArguments(arguments))
            }
        }

        /// `TYPE:ID`, the type matched to the catalog's spelling whatever its case; a replica table
        /// (`coworkers:ID`) stands for the entity types it folds, as in `history`.
        static func entity(_ text: String) throws -> ([String], Int64) {
            guard let colon = text.lastIndex(of: ":"), let id = Int64(text[text.index(after: colon)...]),
                  colon > text.startIndex
            else {
                throw CLIError("--entity expects TYPE:ID, e.g. Coworker:1419000582, got '\(text)'")
            }
            let written = String(text[..<colon])
            return (EntityHistory.entityTypes(named: written) ?? [written], id)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one delivery's body exactly as received; metadata on standard error.",
            discussion: """
                The body bytes go to standard output unchanged (no newline is added unless the \
                output is a terminal), so `events show 7 > body.json` reproduces the file Nexudus \
                signed. --metadata prints the metadata as one JSON object on standard output \
                instead of the body.

                Example:
                  nexmirror events show 7 | nexmirror verify --signature 5A7495C1…
                """)

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The delivery's seq (see `nexmirror events`).")
        var seq: Int64

        @Flag(help: "Print the metadata as JSON on standard output instead of the body.")
        var metadata = false

        static let metadataColumns = [
            "seq", "received_at", "action", "action_id", "entity_type", "entity_id", "updated_on", "bytes",
            "body_sha256", "source", "signature", "status", "error",
        ]

        func run() async throws {
            let queue = try ReadOnlyDatabase.open(database)
            let found: (metadata: [Cell], body: Data)? = try ReadOnlyDatabase.read(queue) { db in
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT seq, received_at, action, action_id, entity_type, entity_id, updated_on,
                               length(body) AS bytes, body_sha256, source, signature, status, error, body
                        FROM events WHERE seq = ?
                        """,
                    arguments: [seq])
                return row.map { (Cell.row($0).dropLast(), $0["body"]) }
            }
            guard let found else {
                let last = try ReadOnlyDatabase.read(queue) { try Int64.fetchOne($0, sql: "SELECT max(seq) FROM events") }
                throw CLIError("no delivery with seq \(seq); the log holds \(last.map { "1…\($0)" } ?? "none yet")")
            }
            let out = BufferedOutput()
            if metadata {
                var writer = JSONRowWriter(output: out, lines: true)
                try writer.begin(columns: Self.metadataColumns)
                try writer.write(found.metadata)
                try writer.end()
                return
            }
            out.write(bytes: found.body)
            if Terminal.isTerminal(STDOUT_FILENO), found.body.last != 0x0A { out.write("\n") }
            try out.flush()
            let summary = zip(Self.metadataColumns, found.metadata).compactMap { name, cell in
                cell.rendered.map { "\(name)=\($0)" }
            }
            Terminal.printError(summary.joined(separator: " "))
        }
    }
}
