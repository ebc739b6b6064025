import Logging
import NexMirrorCore
import NexMirrorStore

/// `serve --erase-deleted-after D` (SPEC §10): erases each coworker whose delete (a webhook, or
/// sync's 404) was folded D ago, by the same `forget` an operator runs. Logs counts, never ids
/// or anything about the people. A `PeriodicService` runs it every `interval`.
public struct AutomaticErasure: Sendable {
    let store: any ErasingStore
    let delay: Duration
    let logger: Logger

    public init(store: any ErasingStore, delay: Duration, logger: Logger) {
        self.store = store
        self.delay = delay
        self.logger = logger
    }

    /// Often enough that an erasure is never much later than promised, rarely enough to cost
    /// nothing: a tenth of the delay, between a second and ten minutes.
    public var interval: Duration { min(max(delay / 10, .seconds(1)), .seconds(600)) }

    /// Erases what is due now; returns how many subjects.
    @discardableResult
    public func runOnce() async -> Int {
        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        let deletedBefore = Timestamp(secondsSince1970: Timestamp.now.secondsSince1970 - seconds)
        do {
            let due = try await store.erasableDeletedCoworkers(deletedBefore: deletedBefore)
            guard !due.isEmpty else { return 0 }
            let reports = try await store.forget(due, reason: "deleted in Nexudus", origin: .deleted, dryRun: false)
            logger.notice("erased coworkers deleted in Nexudus", metadata: [
                "subjects": "\(reports.count)", "deliveries": "\(reports.map(\.deliveryCount).reduce(0, +))",
            ])
            return reports.count
        } catch {
            if Task.isCancelled { return 0 }
            logger.error("automatic erasure failed; it is tried again", metadata: ["error": "\(error)"])
            return 0
        }
    }
}
