import NexMirrorStore
import ServiceLifecycle
import Synchronization

/// Commits concurrent deliveries in groups: whoever arrives while a commit is in flight waits
/// for the next one, which takes everyone waiting at that moment in one transaction and one
/// fsync. Durability then costs one fsync per group, not per request.
///
/// A service of the application: the groups after the first are committed by its `run`, woken
/// through a stream. After a graceful shutdown it commits whoever still waits, and a delivery
/// that arrives later is committed on its own caller's task.
public final class GroupCommitter: Service, Sendable {
    private typealias Waiter = (delivery: NewDelivery, continuation: CheckedContinuation<AppendResult, any Error>)

    private struct State {
        var waiting: [Waiter] = []
        var committing = false
        /// Graceful shutdown began: a new delivery commits on its caller's task.
        var stopped = false
        /// The last group after shutdown is committed: nobody is left to commit a new waiter.
        var drained = false
    }

    private let state = Mutex(State())
    private let store: any EventStore
    private let maxGroup: Int
    private let onCommit: @Sendable () -> Void
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(store: any EventStore, maxGroup: Int = 1024, onCommit: @escaping @Sendable () -> Void = {}) {
        self.store = store
        self.maxGroup = maxGroup
        self.onCommit = onCommit
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func run() async {
        await withGracefulShutdownHandler {
            for await _ in wakeups { await commitWhileWaiting() }
        } onGracefulShutdown: {
            self.state.withLock { $0.stopped = true }
            self.wake.finish()
        }
        await commitWhileWaiting(final: true)
    }

    /// Returns once the delivery is durably in the log (or was already there).
    public func append(_ delivery: NewDelivery) async throws -> AppendResult {
        let (leads, stopped) = state.withLock { state in
            if state.stopped { return (false, true) }
            if state.committing { return (false, false) }
            state.committing = true
            return (true, false)
        }
        if stopped { return try await commitAlone(delivery) }
        guard leads else { return try await wait(delivery) }
        // Nothing in flight: commit on the caller's task. A lone delivery (Nexudus sends one at
        // a time) then costs no extra task and no extra thread hand-offs.
        defer { handOff() }
        return try await commitAlone(delivery)
    }

    private func commitAlone(_ delivery: NewDelivery) async throws -> AppendResult {
        guard let result = try await store.append([delivery]).first else { throw StoreError.unavailable("no result") }
        onCommit()
        return result
    }

    private func wait(_ delivery: NewDelivery) async throws -> AppendResult {
        try await withCheckedThrowingContinuation { continuation in
            let startCommitting = state.withLock { state in
                if state.drained {
                    continuation.resume(throwing: StoreError.unavailable("the receiver is shutting down"))
                    return false
                }
                state.waiting.append((delivery, continuation))
                if state.committing { return false }
                state.committing = true
                return true
            }
            if startCommitting { wake.yield() }
        }
    }

    /// Whoever queued while the caller committed goes in the next group.
    private func handOff() {
        let more = state.withLock { state in
            if state.waiting.isEmpty { state.committing = false }
            return state.committing
        }
        if more { wake.yield() }
    }

    private func commitWhileWaiting(final: Bool = false) async {
        while true {
            let group: [Waiter] = state.withLock { state in
                guard !state.waiting.isEmpty else {
                    state.committing = false
                    if final { state.drained = true }
                    return []
                }
                let count = min(state.waiting.count, maxGroup)
                let group = Array(state.waiting.prefix(count))
                state.waiting.removeFirst(count)
                return group
            }
            if group.isEmpty { return }
            do {
                let results = try await store.append(group.map(\.delivery))
                for (waiter, result) in zip(group, results) { waiter.continuation.resume(returning: result) }
                onCommit()
            } catch {
                for waiter in group { waiter.continuation.resume(throwing: error) }
            }
        }
    }
}
