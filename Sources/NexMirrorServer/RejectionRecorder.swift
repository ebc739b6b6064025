import NexMirrorStore
import Synchronization

/// Writes signature rejections in the background, several per transaction. A 401 never waits
/// for the disk, and a flood of bad signatures costs one write per batch instead of one per
/// request. Only the newest are kept anyway, so under a flood the backlog is bounded by
/// dropping the oldest pending ones; the `rejected` counter in /metrics still counts them all.
final class RejectionRecorder: Sendable {
    private struct State {
        var pending: [Rejection] = []
        var writing = false
    }

    private let state = Mutex(State())
    private let store: any EventStore
    private let maxPending: Int

    init(store: any EventStore, maxPending: Int = 1000) {
        self.store = store
        self.maxPending = maxPending
    }

    func record(_ rejection: Rejection) {
        let startWriting = state.withLock { state in
            state.pending.append(rejection)
            if state.pending.count > maxPending { state.pending.removeFirst(state.pending.count - maxPending) }
            if state.writing { return false }
            state.writing = true
            return true
        }
        if startWriting { Task { await self.writePending() } }
    }

    private func writePending() async {
        while true {
            let batch: [Rejection] = state.withLock { state in
                if state.pending.isEmpty { state.writing = false }
                defer { state.pending.removeAll(keepingCapacity: true) }
                return state.pending
            }
            if batch.isEmpty { return }
            try? await store.recordRejections(batch)
        }
    }
}
