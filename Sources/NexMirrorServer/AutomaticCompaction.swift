import Logging
import NexMirrorCore
import NexMirrorStore

/// `serve --compact-after D`: compacts the log (`StoreCompaction`) with `before` = now − D, at
/// start and then every `interval` (a `PeriodicService` runs it). Ingest goes on meanwhile: a
/// compaction deletes in short transactions, and only deliveries every projection folded. A
/// failed run is logged and the next one tries again. Logs counts only, never a body or a value.
public struct AutomaticCompaction: Sendable {
    let store: any StoreCompaction
    let keep: Duration
    public let interval: Duration
    let logger: Logger

    /// - Parameters:
    ///   - keep: how long a delivery that no longer decides the replica stays in the log.
    ///   - interval: the pause between runs; at most an hour, and at most `keep`.
    public init(store: any StoreCompaction, keep: Duration, logger: Logger) {
        self.store = store
        self.keep = keep
        self.interval = min(keep, .seconds(3600))
        self.logger = logger
    }

    public func runOnce() async {
        let (seconds, attoseconds) = keep.components
        let before = Timestamp(
            secondsSince1970: Timestamp.now.secondsSince1970 - Double(seconds) - Double(attoseconds) / 1e18)
        do {
            let summary = try await store.compact(before: before, dryRun: false, vacuum: false)
            let level: Logger.Level = summary.removed > 0 ? .notice : .debug
            logger.log(level: level, "compacted the log", metadata: [
                "before": "\(before)", "removed": "\(summary.removed)", "body_bytes": "\(summary.bodyBytes)",
                "kinds": "\(summary.kinds.keys.sorted().map { "\($0)=\(summary.kinds[$0]!.deliveries)" }.joined(separator: ","))",
            ])
        } catch {
            if Task.isCancelled { return }
            logger.error("compaction failed; the next run tries again", metadata: ["error": "\(error)"])
        }
    }
}
