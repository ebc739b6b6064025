import ArgumentParser
import Foundation
import NexMirrorProjections
import NexMirrorStore

struct Rebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Refold projections from the event log and swap the fresh tables in atomically.",
        discussion: """
            Safe while `serve` is running: readers keep the old tables until the swap, and \
            deliveries that arrive meanwhile are folded exactly once. Run it after changing how a \
            projection folds, or to check that the replica is what the log says. Projections whose \
            version changed are rebuilt automatically when `serve` starts.

            On PostgreSQL the swap needs the live tables to itself, so it waits for readers that \
            hold them (a long `query` or `check`): each attempt queues for at most a second, so \
            receivers' folds and new queries are never held up longer; between attempts it folds \
            what arrived, says on stderr which connections hold the tables (pid, application_name, \
            transaction start), and tries again, until --swap-wait has passed. Then it fails in \
            one line and the live replica is unchanged. On SQLite readers never block the swap.

            Projections: \(Projections.all.map(\.name).joined(separator: ", ")).

            Examples:
              nexmirror rebuild
              nexmirror rebuild --projection bookings --projection invoices
              nexmirror rebuild --db "$NEXMIRROR_DB" --swap-wait 1h
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(name: .customLong("projection"), help: "Projection to rebuild (repeatable; default: all).")
    var projections: [String] = []

    @Option(help: ArgumentHelp(
        "How long the swap may keep waiting for readers of the live tables on PostgreSQL (30s, 10m, 1h) "
            + "before giving up with the replica unchanged.",
        valueName: "duration"))
    var swapWait = IntervalArgument(argument: "10m")!

    func validate() throws {
        for name in projections where Projections.named(name) == nil {
            throw ValidationError(
                "unknown projection '\(name)'; known: \(Projections.all.map(\.name).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let store = try await database.openStore(mustExist: true)
        try await store.registerProjectionsAndRebuildChanged(progress: nil)
        let bar = ProgressBar(enabled: Terminal.isTerminal(STDERR_FILENO))
        let summary = try await store.rebuild(
            projectionNames: projections, swap: SwapPolicy(totalWait: swapWait.duration)
        ) { progress in
            if let wait = progress.swapWait {
                bar.finish()
                Terminal.printError(wait.description)
            } else {
                bar.update(done: progress.eventsRead, total: progress.eventsTotal)
            }
        }
        bar.finish()
        print(String(
            format: "rebuilt %@: %d events in %.2f s (%.0f events/s)",
            summary.projections.joined(separator: ", "), summary.events, summary.seconds, summary.eventsPerSecond))
    }
}
