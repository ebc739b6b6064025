import ArgumentParser
import Foundation
import NexMirrorStore

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every delivery of one entity: what became of it and which fields it changed.",
        discussion: """
            ENTITY is a replica table (coworkers, bookings, invoices, teams, checkins, proposals, \
            contracts) or an entity type (Coworker, Tariff, …); ID is the Nexudus Id. Deliveries \
            come in log order with seq, received_at, action, source and updated_on, then:

            outcome: the version held (by the replica now), superseded by seq N, ignored as \
            older than seq N (a late version), deleted, ignored after a delete (seq N: a version \
            not newer than a delete never resurrects the entity), or quarantined with the reason.

            changes: the fields that differ from the version held before this delivery, compared \
            as JSON values (a team member added is one change of TeamMembers); UpdatedOn is left \
            out. A delivery whose body could not be decoded at all has no entity id and is not \
            listed here: see `nexmirror events --quarantined`.

            --format as for `query`.

            Examples:
              nexmirror history coworkers 1419000582
              nexmirror history Coworker 1419000582 --format json
            """)

    @OptionGroup var database: DatabaseOptions

    @Argument(help: ArgumentHelp("A table name (coworkers) or entity type (Coworker).", valueName: "entity"))
    var entity: String

    @Argument(help: ArgumentHelp("The Nexudus Id.", valueName: "id"))
    var id: Int64

    @Option(help: "table, csv, tsv, json, jsonl or markdown (default: table on a terminal, else csv).")
    var format: OutputFormat?

    func validate() throws { _ = try entityTypes }

    private var entityTypes: [String] {
        get throws {
            guard let types = EntityTypes.named(entity) else { throw EntityHistory.Failure.unknownEntity(entity) }
            return types
        }
    }

    func run() async throws {
        let types = try entityTypes
        let history = try await database.openLogReader().history(of: types, id: id)
        guard !history.entries.isEmpty else { throw EntityHistory.Failure.noDelivery(types: types, id: id) }
        await CompactionNote.forHistory(database)
        var writer = (format ?? .automatic).writer(to: BufferedOutput())
        try writer.begin(columns: ["seq", "received_at", "action", "source", "updated_on", "outcome", "changes"])
        for entry in history.entries {
            try writer.write([
                .integer(entry.seq), .text(entry.receivedAt), .text(entry.action), .text(entry.source),
                entry.updatedOn.map(Cell.text) ?? .null, .text(entry.outcome),
                .text(entry.changes.map(\.description).joined(separator: "; ")),
            ])
        }
        try writer.end()
    }
}
