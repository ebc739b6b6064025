import Logging
import NexMirrorStore
import ServiceLifecycle
import Synchronization

/// Writes signature rejections in the background, several per transaction. A 401 never waits
/// for the disk, and a flood of bad signatures costs one write per batch instead of one per
/// request. Only the newest are kept anyway, so under a flood the backlog is bounded by
/// dropping the oldest pending ones; the `rejected` counter in /metrics still counts them all.
///
/// A service of the application: on graceful shutdown (after the HTTP server has stopped) it
/// writes what is still pending before it returns, and a failed write is logged, not dropped
/// silently.
public final class RejectionRecorder: Service, Sendable {
    private let pending = Mutex<[Rejection]>([])
    private let store: any EventStore
    private let logger: Logger
    private let maxPending: Int
    /// One element means "something is pending"; the rejections themselves wait in `pending`,
    /// so a batch takes all of them at once.
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(store: any EventStore, logger: Logger, maxPending: Int = 1000) {
        self.store = store
        self.logger = logger
        self.maxPending = maxPending
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a rejection; never waits.
    public func record(_ rejection: Rejection) {
        pending.withLock { pending in
            pending.append(rejection)
            if pending.count > maxPending { pending.removeFirst(pending.count - maxPending) }
        }
        wake.yield()
    }

    public func run() async {
        await withGracefulShutdownHandler {
            for await _ in wakeups { await writePending() }
        } onGracefulShutdown: {
            self.wake.finish()
        }
        // Whatever arrived between the last wakeup and the end of the stream.
        await writePending()
    }

    private func writePending() async {
        while true {
            let batch = pending.withLock { pending in
                defer { pending.removeAll(keepingCapacity: true) }
                return pending
            }
            if batch.isEmpty { return }
            do {
                try await store.recordRejections(batch)
            } catch {
                logger.error("signature rejections not recorded", metadata: [
                    "count": "\(batch.count)", "error": "\(error)",
                ])
            }
        }
    }
}
