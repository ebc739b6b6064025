import NexMirrorCore

/// The parts of the status report, each as `status --format json` encodes it.
extension StatusReport {
    public struct Log: Codable, Sendable {
        public var deliveries: Int
        public var lastSeq: Int64
        public var quarantined: Int
        public var fileBytes: Int64
        public var walBytes: Int64
        /// The newest delivery in the log (any source): when it arrived and its action.
        public var lastReceivedAt: String? = nil
        public var lastAction: String? = nil

        package init(
            deliveries: Int, lastSeq: Int64, quarantined: Int, fileBytes: Int64, walBytes: Int64,
            lastReceivedAt: String? = nil, lastAction: String? = nil
        ) {
            self.deliveries = deliveries
            self.lastSeq = lastSeq
            self.quarantined = quarantined
            self.fileBytes = fileBytes
            self.walBytes = walBytes
            self.lastReceivedAt = lastReceivedAt
            self.lastAction = lastAction
        }
    }

    /// One action: every action ever received, and every action a typed table folds.
    /// What the silence alarm says of one action (printed and encoded by its raw value).
    public enum ActivityState: String, Codable, Sendable {
        case ok, silent, never
        case disabled = "disabled in Nexudus"
    }

    public struct ActionActivity: Codable, Sendable {
        public var action: String
        public var actionId: Int
        /// The projection that folds it (`entities` for untyped ones, `-` for none).
        public var projection: String
        /// Deliveries of this action in the log, from any source (webhook, import, api).
        public var deliveries: Int
        /// Webhook deliveries only: what the silence alarm watches.
        public var webhooks24h: Int
        public var webhooks7d: Int
        public var lastReceivedAt: String?
        public var state: ActivityState
        public var silenceThresholdSeconds: Double
        /// `learned`, `default` (too little history) or `--silence-after`.
        public var thresholdSource: String

        package init(
            action: String, actionId: Int, projection: String, deliveries: Int, webhooks24h: Int, webhooks7d: Int,
            lastReceivedAt: String?, state: ActivityState, silenceThresholdSeconds: Double, thresholdSource: String
        ) {
            self.action = action
            self.actionId = actionId
            self.projection = projection
            self.deliveries = deliveries
            self.webhooks24h = webhooks24h
            self.webhooks7d = webhooks7d
            self.lastReceivedAt = lastReceivedAt
            self.state = state
            self.silenceThresholdSeconds = silenceThresholdSeconds
            self.thresholdSource = thresholdSource
        }
    }

    public struct HourBucket: Codable, Sendable {
        public var hour: String
        public var deliveries: Int

        package init(hour: String, deliveries: Int) {
            self.hour = hour
            self.deliveries = deliveries
        }
    }

    public struct QuarantinedDelivery: Codable, Sendable {
        public var seq: Int64
        public var action: String
        public var receivedAt: String
        public var error: String?

        package init(seq: Int64, action: String, receivedAt: String, error: String?) {
            self.seq = seq
            self.action = action
            self.receivedAt = receivedAt
            self.error = error
        }
    }

    public struct Quarantine: Codable, Sendable {
        public var total: Int
        public var last24h: Int
        public var newest: [QuarantinedDelivery]

        package init(total: Int, last24h: Int, newest: [QuarantinedDelivery]) {
            self.total = total
            self.last24h = last24h
            self.newest = newest
        }
    }

    public struct ProjectionState: Codable, Sendable {
        public var name: String
        public var version: Int
        public var checkpoint: Int64
        public var lag: Int64
        public var rebuiltAt: String?
        public var updatedAt: String?

        package init(
            name: String, version: Int, checkpoint: Int64, lag: Int64, rebuiltAt: String?, updatedAt: String?
        ) {
            self.name = name
            self.version = version
            self.checkpoint = checkpoint
            self.lag = lag
            self.rebuiltAt = rebuiltAt
            self.updatedAt = updatedAt
        }
    }

    public struct Rejections: Codable, Sendable {
        /// Every rejection ever (the table's AUTOINCREMENT id); only the last 1000 are kept.
        public var total: Int64
        public var kept: Int
        public var last24h: Int
        public var lastAt: String?
        public var lastReason: String?
        public var sinceLastVerified: Int
        public var lastVerifiedAt: String?

        package init(
            total: Int64, kept: Int, last24h: Int, lastAt: String?, lastReason: String?, sinceLastVerified: Int,
            lastVerifiedAt: String?
        ) {
            self.total = total
            self.kept = kept
            self.last24h = last24h
            self.lastAt = lastAt
            self.lastReason = lastReason
            self.sinceLastVerified = sinceLastVerified
            self.lastVerifiedAt = lastVerifiedAt
        }
    }

    /// The last `nexmirror sync` of one kind; `drift` = new + changed + deleted.
    public struct SyncKind: Codable, Sendable {
        public var kind: String
        public var startedAt: String?
        public var finishedAt: String?
        public var error: String?
        public var listed: Int
        public var fetched: Int
        public var new: Int
        public var changed: Int
        public var deleted: Int
        public var unchanged: Int
        public var drift: Int
        /// `batch` or `single` (`sync_state.fetch_mode`), and why `single`.
        public var fetchMode: String?
        public var fetchNote: String?

        package init(
            kind: String, startedAt: String?, finishedAt: String?, error: String?, listed: Int, fetched: Int,
            new: Int, changed: Int, deleted: Int, unchanged: Int, drift: Int, fetchMode: String? = nil,
            fetchNote: String? = nil
        ) {
            self.kind = kind
            self.startedAt = startedAt
            self.finishedAt = finishedAt
            self.error = error
            self.listed = listed
            self.fetched = fetched
            self.new = new
            self.changed = changed
            self.deleted = deleted
            self.unchanged = unchanged
            self.drift = drift
            self.fetchMode = fetchMode
            self.fetchNote = fetchNote
        }

        /// The fetch column of `status` and the dashboard.
        public var fetch: String { FetchMode.describe(mode: fetchMode, note: fetchNote) }
    }
}
