import NexMirrorStore
import Synchronization

/// Commits concurrent deliveries in groups: whoever arrives while a commit is in flight waits
/// for the next one, which takes everyone waiting at that moment in one transaction and one
/// fsync. Durability then costs one fsync per group, not per request.
public final class GroupCommitter: Sendable {
    private typealias Waiter = (delivery: NewDelivery, continuation: CheckedContinuation<AppendResult, any Error>)

    private struct State {
        var waiting: [Waiter] = []
        var committing = false
    }

    private let state = Mutex(State())
    private let store: any EventStore
    private let maxGroup: Int
    private let onCommit: @Sendable () -> Void

    public init(store: any EventStore, maxGroup: Int = 1024, onCommit: @escaping @Sendable () -> Void = {}) {
        self.store = store
        self.maxGroup = maxGroup
        self.onCommit = onCommit
    }

    /// Returns once the delivery is durably in the log (or was already there).
    public func append(_ delivery: NewDelivery) async throws -> AppendResult {
        let leads = state.withLock { state in
            if state.committing { return false }
            state.committing = true
            return true
        }
        guard leads else { return try await wait(delivery) }
        // Nothing in flight: commit on the caller's task. A lone delivery (Nexudus sends one at
        // a time) then costs no extra task and no extra thread hand-offs.
        defer { handOff() }
        let result = try await store.append([delivery])[0]
        onCommit()
        return result
    }

    private func wait(_ delivery: NewDelivery) async throws -> AppendResult {
        try await withCheckedThrowingContinuation { continuation in
            let startCommitting = state.withLock { state in
                state.waiting.append((delivery, continuation))
                if state.committing { return false }
                state.committing = true
                return true
            }
            if startCommitting {
                Task { await self.commitWhileWaiting() }
            }
        }
    }

    /// Whoever queued while the caller committed goes in the next group.
    private func handOff() {
        let more = state.withLock { state in
            if state.waiting.isEmpty { state.committing = false }
            return state.committing
        }
        if more { Task { await self.commitWhileWaiting() } }
    }

    private func commitWhileWaiting() async {
        while true {
            let group: [Waiter] = state.withLock { state in
                guard !state.waiting.isEmpty else {
                    state.committing = false
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
