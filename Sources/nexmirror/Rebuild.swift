import ArgumentParser
import Foundation
import NexMirrorProjections
import NexMirrorSQLite
import NexMirrorStore

struct Rebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Refold projections from the event log and swap the fresh tables in atomically.",
        discussion: """
            Safe while `serve` is running: readers keep the old tables until the swap, and \
            deliveries that arrive meanwhile are folded exactly once. Run it after changing how a \
            projection folds, or to check that the replica is what the log says. Projections whose \
            version changed are rebuilt automatically when `serve` starts.

            Projections: \(Projections.all.map(\.name).joined(separator: ", ")).

            Examples:
              nexmirror rebuild
              nexmirror rebuild --projection bookings --projection invoices
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(name: .customLong("projection"), help: "Projection to rebuild (repeatable; default: all).")
    var projections: [String] = []

    func validate() throws {
        for name in projections where Projections.named(name) == nil {
            throw ValidationError(
                "unknown projection '\(name)'; known: \(Projections.all.map(\.name).joined(separator: ", "))")
        }
    }

    func run() async throws {
        guard FileManager.default.fileExists(atPath: database.path) else {
            throw CLIError(StoreError.missingDatabase(database.path).description)
        }
        let store = try SQLiteStore(path: database.path)
        _ = try store.prepareProjections()
        let bar = ProgressBar(enabled: Terminal.isTerminal(STDERR_FILENO))
        let summary = try Rebuilder(store: store).rebuild(projectionNames: projections) { progress in
            bar.update(done: progress.eventsRead, total: progress.eventsTotal)
        }
        bar.finish()
        print(String(
            format: "rebuilt %@: %d events in %.2f s (%.0f events/s)",
            summary.projections.joined(separator: ", "), summary.events, summary.seconds, summary.eventsPerSecond))
    }
}
