import Foundation
import NexMirrorCore
import NexMirrorProjections

/// Everything `status`, `GET /api/status` and the dashboard show, read in one transaction so the
/// numbers agree with each other. The store gathers it; the CLI and the server only render it.
/// It holds counts, times, action names and errors: no member data, no bodies, no secrets.
public struct StatusReport: Codable, Sendable {
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

    public var database: String
    public var generatedAt: String
    public var log: Log
    public var tables: [String: Int]
    public var actions: [ActionActivity]
    /// Webhook deliveries per hour, the last 168 hours, oldest first.
    public var hourly: [HourBucket]
    public var quarantine: Quarantine
    public var projections: [ProjectionState]
    public var rejections: Rejections
    public var sync: [SyncKind]
    /// Subjects erased, deliveries rewritten, coworkers deleted in Nexudus not erased yet.
    public var erasures = ErasureFigures()
    public var silent: [String]
    public var disabledInNexudus: [String]
    /// One line per problem, as `status --check` prints them.
    public var problems: [String]
    public var hint: String?

    package static let newestQuarantined = 5
    /// A delivery not folded after this long is a lag problem, not just a fold in progress.
    package static let lagGrace: Double = 60

    /// An empty report for a backend's gatherer to fill in (every field is a `var`).
    package init(database: String, generatedAt: String) {
        self.database = database
        self.generatedAt = generatedAt
        log = Log(deliveries: 0, lastSeq: 0, quarantined: 0, fileBytes: 0, walBytes: 0)
        tables = [:]
        actions = []
        hourly = []
        quarantine = Quarantine(total: 0, last24h: 0, newest: [])
        projections = []
        rejections = Rejections(
            total: 0, kept: 0, last24h: 0, lastAt: nil, lastReason: nil, sinceLastVerified: 0, lastVerifiedAt: nil)
        sync = []
        silent = []
        disabledInNexudus = []
        problems = []
        hint = nil
    }

    /// The replica's tables, in the projections' order, then the log's bookkeeping.
    public static var tableNames: [String] {
        var names: [String] = []
        for projection in Projections.all {
            for table in projection.ownedTables where !names.contains(table) { names.append(table) }
        }
        return names + ["members", "tombstones"]
    }

    /// The report as `status --format json` and `GET /api/status` print it.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }

    /// Projected actions: those whose entity a typed table (not `entities`) folds.
    package static func isProjected(_ action: WebhookAction) -> Bool {
        guard let type = action.entityType else { return false }
        return Projections.projection(for: type).name != "entities"
    }

    /// What a store reads from its log about one action, for the activity table.
    package struct ActionFigures: Sendable {
        /// Deliveries of the action from any source.
        package var deliveries = 0
        package var webhooks24h = 0
        package var webhooks7d = 0
        package var lastWebhookAt: String?
        /// Webhook deliveries inside the silence rule's learning window, and the longest gap
        /// between two consecutive ones there, in seconds.
        package var webhooksInWindow = 0
        package var longestGap: Double?

        package init() {}
    }

    /// The activity table: every action received, and every action a typed table folds, with
    /// its silence state.
    package static func activity(
        _ figures: [String: ActionFigures], now: Timestamp, silence: SilenceRule, disabled: Set<String>
    ) -> [ActionActivity] {
        var result: [ActionActivity] = []
        for action in ActionCatalog.all where figures[action.name] != nil || isProjected(action) {
            let seen = figures[action.name] ?? ActionFigures()
            let threshold = silence.threshold(
                deliveriesInWindow: seen.webhooksInWindow, longestGap: seen.longestGap)
            let state: ActivityState
            if disabled.contains(action.name) {
                state = .disabled
            } else if let last = seen.lastWebhookAt.flatMap({ Timestamp(parsing: $0) }) {
                state = SilenceRule.isSilent(lastReceivedAt: last, now: now, threshold: threshold.seconds) ? .silent : .ok
            } else {
                state = .never
            }
            result.append(ActionActivity(
                action: action.name, actionId: action.id,
                projection: action.entityType.map { Projections.projection(for: $0).name } ?? "-",
                deliveries: seen.deliveries, webhooks24h: seen.webhooks24h, webhooks7d: seen.webhooks7d,
                lastReceivedAt: seen.lastWebhookAt, state: state, silenceThresholdSeconds: threshold.seconds,
                thresholdSource: threshold.source))
        }
        return result
    }

    package static func problems(
        actions: [ActionActivity], projections: [ProjectionState], oldestWaiting: String?, now: Timestamp,
        quarantine: Quarantine, rejections: Rejections, hint: String?, sync: [SyncKind]
    ) -> [String] {
        var problems: [String] = []
        for action in actions where action.state == .silent {
            let last = action.lastReceivedAt.flatMap { Timestamp(parsing: $0) }.map { seconds(from: $0, to: now) } ?? 0
            problems.append(
                "silent: \(action.action) received nothing for \(HumanDuration.describe(last)) "
                    + "(threshold \(HumanDuration.describe(action.silenceThresholdSeconds)), \(action.thresholdSource))")
        }
        for action in actions where action.state == .disabled {
            problems.append(
                "disabled in Nexudus: every webhook for \(action.action) is inactive; re-enable it "
                    + "(nexmirror webhooks setup --url BASE)")
        }
        let waiting = oldestWaiting.flatMap { Timestamp(parsing: $0) }.map { seconds(from: $0, to: now) } ?? 0
        if waiting > lagGrace {
            for projection in projections where projection.lag > 0 {
                problems.append(
                    "projection lag: \(projection.name) is \(projection.lag) deliver\(projection.lag == 1 ? "y" : "ies") behind, "
                        + "the oldest waiting \(HumanDuration.describe(waiting)); is `nexmirror serve` running?")
            }
        }
        if quarantine.last24h > 0, let newest = quarantine.newest.first {
            problems.append(
                "quarantined: \(quarantine.last24h) in the last 24 h, newest seq \(newest.seq) \(newest.action): "
                    + "\(newest.error ?? "?") (nexmirror events --quarantined)")
        }
        if rejections.last24h > 0 {
            problems.append(
                "rejected: \(rejections.last24h) signature rejection\(rejections.last24h == 1 ? "" : "s") in the last 24 h"
                    + (hint.map { "; \($0)" } ?? ""))
        }
        for kind in sync where kind.error != nil {
            problems.append("sync failing: \(kind.kind): \(kind.error!)")
        }
        return problems
    }

    package static func seconds(from start: Timestamp, to end: Timestamp) -> Double {
        end.secondsSince1970 - start.secondsSince1970
    }

    package static func order(of projection: String) -> Int {
        Projections.all.firstIndex { $0.name == projection } ?? Int.max
    }

    /// Rejections with no verified delivery since mean Nexudus and nexmirror disagree on the
    /// secret (or Nexudus sends none), which a rejection count alone does not say.
    package static func hint(_ rejections: Rejections) -> String? {
        guard rejections.sinceLastVerified > 0 else { return nil }
        let count = "\(rejections.sinceLastVerified) \(rejections.sinceLastVerified == 1 ? "delivery was" : "deliveries were")"
        let since = rejections.lastVerifiedAt.map { "since the last verified one (\($0))" } ?? "and none was ever verified"
        if rejections.lastReason == "missing-header" {
            return "\(count) rejected without a signature \(since): set the secret in Nexudus "
                + "(Settings › Integrations) to the content of nexmirror.secret"
        }
        return "\(count) rejected for their signature \(since): the secret in Nexudus probably differs "
            + "from nexmirror's; compare them, and check one body with `nexmirror verify`"
    }
}

/// A store that can gather the status report (the dashboard and `/api/status` ask for it).
public protocol StatusReporting: Sendable {
    func statusReport(now: Timestamp, silence: SilenceRule) async throws -> StatusReport
}
