import Foundation
import NexMirrorStore

/// What one kind's sync found (SPEC §7): the summary line and the drift in `sync_state`.
public struct KindReport: Sendable, CustomStringConvertible {
    public let kind: NexudusKind
    public var listed = 0
    public var fetched = 0
    /// Drift: ids the replica did not hold, held older, or that are gone from the API.
    public var new = 0
    public var changed = 0
    public var deleted = 0
    public var unchanged = 0
    public var requests = 0
    public var seconds = 0.0
    /// The remaining time predicted once the list was read (made again when the batch form is
    /// given up midway, from the time spent until then), and the time it then took.
    public var predictedSeconds: Double?
    public var remainingSeconds: Double?
    /// A dry run: the requests a sync would make now (list pages, fetches, deletion checks).
    public var plannedRequests: Int?
    /// Why the kind was fetched one record per request rather than in batches, as one line.
    public var notice: String?

    /// The figures `sync_state` keeps.
    public var figures: SyncFigures {
        SyncFigures(
            kind: kind.name, listed: listed, fetched: fetched, new: new, changed: changed, deleted: deleted,
            unchanged: unchanged)
    }

    public var description: String {
        "\(kind.name): listed \(listed), fetched \(fetched), new \(new), changed \(changed), "
            + "deleted \(deleted), unchanged \(unchanged)" + String(format: " (%d requests, %.1f s)", requests, seconds)
    }
}

/// Progress of a kind for a progress bar: requests done and planned, and the estimate left.
public struct SyncProgress: Sendable {
    public let kind: String
    public let done: Int
    public let total: Int
    public let etaSeconds: Double
}
