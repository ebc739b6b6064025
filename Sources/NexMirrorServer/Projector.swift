import Logging
import NexMirrorStore
import ServiceLifecycle
import Synchronization

/// Folds newly committed deliveries into the replica in the background. Woken by each commit
/// and, to pick up imports and rebuilds by other processes, by a short poll. Ingest never waits
/// for it: a fold failure is quarantined by the store, any other error is logged and retried.
public struct Projector: Service {
    let store: any EventStore
    let logger: Logger
    let pollInterval: Duration
    let gatherDelay: Duration
    let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(
        store: any EventStore, logger: Logger, pollInterval: Duration = .milliseconds(250),
        gatherDelay: Duration = .milliseconds(50)
    ) {
        self.store = store
        self.logger = logger
        self.pollInterval = pollInterval
        self.gatherDelay = gatherDelay
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks for a fold soon; cheap and safe to call after every commit.
    public func nudge() { wake.yield() }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                // Sleep throws only when cancelled, which the loop checks.
                while !Task.isCancelled {
                    try? await Task.sleep(for: pollInterval)
                    wake.yield()
                }
            }
            // Other receivers' commits (PostgreSQL NOTIFY) wake this projector too.
            if let commits = store.commitsElsewhere() {
                group.addTask {
                    for await _ in commits { wake.yield() }
                }
            }
            // Catch up on what a previous run logged but did not fold.
            await foldAll()
            await cancelWhenGracefulShutdown {
                for await _ in wakeups {
                    // Gathering what arrives meanwhile folds a burst in one transaction instead of
                    // one per commit, which under load halves the receiver's CPU per delivery; the
                    // replica still lags an acknowledgement by well under a second.
                    try? await Task.sleep(for: gatherDelay)
                    await foldAll()
                }
            }
            group.cancelAll()
        }
        wake.finish()
        // Leave the replica current for readers after a graceful stop.
        await foldAll()
    }

    private func foldAll() async {
        do {
            try await store.foldUntilCaughtUp()
        } catch is CancellationError {
            // Cancelled (the server failed to start, or was stopped hard): the next start folds on.
        } catch {
            logger.error("projector could not fold", metadata: ["error": "\(error)"])
        }
    }
}
