import ArgumentParser
import NexMirrorCore
import NexMirrorOutput
import NexMirrorProjections

struct Actions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the 90 Nexudus webhook actions: id, name, entity, change, projection.",
        discussion: """
            Each action is one webhook in Nexudus, pointed at /webhooks/<name> (or /webhooks/<id>).

            Example:
              nexmirror actions | grep Invoice
            """)

    /// Accepted like on every command (the catalog is compiled in, so it is not opened).
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        var rows = [["id", "name", "entity", "change", "projection"]]
        for action in ActionCatalog.all {
            let projection = action.entityType.map { Projections.projection(for: $0).name } ?? "-"
            rows.append([String(action.id), action.name, action.entityType ?? "-", action.change.rawValue, projection])
        }
        for line in TextGrid.lines(rows) { print(line) }
    }
}
