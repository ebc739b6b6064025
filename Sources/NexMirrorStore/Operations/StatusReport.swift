import Foundation
import GRDB
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
    }

    /// One action: every action ever received, and every action a typed table folds.
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
        /// `ok`, `silent`, `never` or `disabled in Nexudus`.
        public var state: String
        public var silenceThresholdSeconds: Double
        /// `learned`, `default` (too little history) or `--silence-after`.
        public var thresholdSource: String
    }

    public struct HourBucket: Codable, Sendable {
        public var hour: String
        public var deliveries: Int
    }

    public struct QuarantinedDelivery: Codable, Sendable {
        public var seq: Int64
        public var action: String
        public var receivedAt: String
        public var error: String?
    }

    public struct Quarantine: Codable, Sendable {
        public var total: Int
        public var last24h: Int
        public var newest: [QuarantinedDelivery]
    }

    public struct ProjectionState: Codable, Sendable {
        public var name: String
        public var version: Int
        public var checkpoint: Int64
        public var lag: Int64
        public var rebuiltAt: String?
        public var updatedAt: String?
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
    public var silent: [String]
    public var disabledInNexudus: [String]
    /// One line per problem, as `status --check` prints them.
    public var problems: [String]
    public var hint: String?

    static let newestQuarantined = 5
    /// A delivery not folded after this long is a lag problem, not just a fold in progress.
    static let lagGrace: Double = 60

    /// The replica's tables, in the projections' order, then the log's bookkeeping.
    public static var tableNames: [String] {
        var names: [String] = []
        for projection in Projections.all {
            for table in projection.ownedTables where !names.contains(table) { names.append(table) }
        }
        return names + ["members", "tombstones"]
    }

    /// Reads the report at instant `now` (a parameter so the silence rule can be tested with a
    /// fake clock).
    public init(db: Database, path: String, now: Timestamp = .now, silence: SilenceRule = SilenceRule()) throws {
        database = path
        generatedAt = now.description
        let day = Timestamp(ticks: now.ticks - 86_400 * Timestamp.ticksPerSecond).description
        let week = Timestamp(ticks: now.ticks - 7 * 86_400 * Timestamp.ticksPerSecond).description

        let lastSeq = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM events") ?? 0
        log = Log(
            deliveries: try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0,
            lastSeq: lastSeq,
            quarantined: try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE status = 'quarantined'") ?? 0,
            fileBytes: Self.size(of: path), walBytes: Self.size(of: path + "-wal"))
        if let newest = try Row.fetchOne(db, sql: "SELECT received_at, action FROM events ORDER BY seq DESC LIMIT 1") {
            log.lastReceivedAt = newest[0]
            log.lastAction = newest[1]
        }

        var tables: [String: Int] = [:]
        for name in Self.tableNames where try db.tableExists(name) || db.viewExists(name) {
            // Names come from the projections compiled in, never from input.
            tables[name] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(name)") ?? 0
        }
        self.tables = tables

        let disabled = try Self.disabledActions(db)
        disabledInNexudus = disabled.sorted()
        actions = try Self.activity(db, now: now, day: day, week: week, silence: silence, disabled: disabled)
        silent = actions.filter { $0.state == "silent" }.map(\.action)
        hourly = try Self.hourly(db, now: now)

        quarantine = Quarantine(
            total: log.quarantined,
            last24h: try Int.fetchOne(
                db, sql: "SELECT count(*) FROM events WHERE status = 'quarantined' AND received_at >= ?",
                arguments: [day]) ?? 0,
            newest: try Row.fetchAll(
                db, sql: """
                    SELECT seq, action, received_at, error FROM events WHERE status = 'quarantined'
                    ORDER BY seq DESC LIMIT ?
                    """, arguments: [Self.newestQuarantined]
            ).map { QuarantinedDelivery(seq: $0[0], action: $0[1], receivedAt: $0[2], error: $0[3]) })

        projections = try Row.fetchAll(
            db, sql: "SELECT name, version, checkpoint, rebuilt_at, updated_at FROM projections"
        ).map { row in
            ProjectionState(
                name: row[0], version: row[1], checkpoint: row[2], lag: max(0, lastSeq - (row[2] as Int64)),
                rebuiltAt: row[3], updatedAt: row[4])
        }.sorted { Self.order(of: $0.name) < Self.order(of: $1.name) }

        // Verified deliveries are webhooks: the condition on source lets events_activity cover it.
        let lastVerifiedAt = try String.fetchOne(
            db, sql: "SELECT max(received_at) FROM events WHERE source = 'webhook' AND signature IN ('raw', 'ascii-folded')")
        let latest = try Row.fetchOne(db, sql: "SELECT received_at, reason FROM rejections ORDER BY id DESC LIMIT 1")
        rejections = Rejections(
            total: try Int64.fetchOne(db, sql: "SELECT max(id) FROM rejections") ?? 0,
            kept: try Int.fetchOne(db, sql: "SELECT count(*) FROM rejections") ?? 0,
            last24h: try Int.fetchOne(db, sql: "SELECT count(*) FROM rejections WHERE received_at >= ?", arguments: [day]) ?? 0,
            lastAt: latest?[0], lastReason: latest?[1],
            sinceLastVerified: try Int.fetchOne(
                db, sql: "SELECT count(*) FROM rejections WHERE received_at > coalesce(?, '')",
                arguments: [lastVerifiedAt]) ?? 0,
            lastVerifiedAt: lastVerifiedAt)
        hint = Self.hint(rejections)
        sync = try Self.syncKinds(db)

        let oldestWaiting = try String.fetchOne(
            db, sql: "SELECT received_at FROM events WHERE seq > ? ORDER BY seq LIMIT 1",
            arguments: [projections.map(\.checkpoint).min() ?? lastSeq])
        problems = Self.problems(
            actions: actions, projections: projections, oldestWaiting: oldestWaiting, now: now,
            quarantine: quarantine, rejections: rejections, hint: hint, sync: sync)
    }

    /// The report as `status --format json` and `GET /api/status` print it.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }

    // MARK: Gathering

    /// Projected actions: those whose entity a typed table (not `entities`) folds.
    static func isProjected(_ action: WebhookAction) -> Bool {
        guard let type = action.entityType else { return false }
        return Projections.projection(for: type).name != "entities"
    }

    private static func activity(
        _ db: Database, now: Timestamp, day: String, week: String, silence: SilenceRule, disabled: Set<String>
    ) throws -> [ActionActivity] {
        var totals: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT action, count(*) FROM events GROUP BY action") {
            totals[row[0]] = row[1]
        }
        struct Webhooks { var day = 0, week = 0, last: String? }
        var webhooks: [String: Webhooks] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT action, sum(received_at >= ?), sum(received_at >= ?), max(received_at)
            FROM events WHERE source = 'webhook' GROUP BY action
            """, arguments: [day, week]) {
            webhooks[row[0]] = Webhooks(day: row[1], week: row[2], last: row[3])
        }
        // Consecutive gaps per action inside the learning window (SilenceRule).
        let windowStart = Timestamp(ticks: now.ticks - Int64(SilenceRule.window) * Timestamp.ticksPerSecond)
        var history: [String: (count: Int, longestGap: Double?)] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT action, count(*), max(gap) FROM (
                SELECT action, (julianday(received_at)
                    - julianday(lag(received_at) OVER (PARTITION BY action ORDER BY received_at))) * 86400.0 AS gap
                FROM events WHERE source = 'webhook' AND received_at >= ? AND received_at <= ?)
            GROUP BY action
            """, arguments: [windowStart.description, now.description]) {
            history[row[0]] = (row[1], row[2])
        }

        var result: [ActionActivity] = []
        for action in ActionCatalog.all where totals[action.name] != nil || isProjected(action) {
            let seen = webhooks[action.name] ?? Webhooks()
            let learned = history[action.name]
            let threshold = silence.threshold(
                deliveriesInWindow: learned?.count ?? 0, longestGap: learned?.longestGap)
            let state: String
            if disabled.contains(action.name) {
                state = "disabled in Nexudus"
            } else if let last = seen.last.flatMap({ Timestamp(parsing: $0) }) {
                state = SilenceRule.isSilent(lastReceivedAt: last, now: now, threshold: threshold.seconds) ? "silent" : "ok"
            } else {
                state = "never"
            }
            result.append(ActionActivity(
                action: action.name, actionId: action.id,
                projection: action.entityType.map { Projections.projection(for: $0).name } ?? "-",
                deliveries: totals[action.name] ?? 0, webhooks24h: seen.day, webhooks7d: seen.week,
                lastReceivedAt: seen.last, state: state, silenceThresholdSeconds: threshold.seconds,
                thresholdSource: threshold.source))
        }
        return result
    }

    private static func hourly(_ db: Database, now: Timestamp) throws -> [HourBucket] {
        let hour = 3_600 * Timestamp.ticksPerSecond
        let current = now.ticks - ((now.ticks % hour) + hour) % hour
        let starts = (0..<168).reversed().map { Timestamp(ticks: current - Int64($0) * hour) }
        var counts: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT substr(received_at, 1, 13), count(*) FROM events
            WHERE source = 'webhook' AND received_at >= ? AND received_at <= ? GROUP BY 1
            """, arguments: [starts[0].description, now.description]) {
            counts[row[0]] = row[1]
        }
        return starts.map { start in
            HourBucket(hour: start.description, deliveries: counts[String(start.description.prefix(13))] ?? 0)
        }
    }

    /// Actions for which Nexudus lists webhooks and every one of them is inactive.
    private static func disabledActions(_ db: Database) throws -> Set<String> {
        guard try db.tableExists("nexudus_webhooks") else { return [] }
        return Set(try String.fetchAll(db, sql: """
            SELECT action FROM nexudus_webhooks WHERE action IS NOT NULL
            GROUP BY action HAVING sum(active) = 0
            """).compactMap { ActionCatalog.action(named: $0)?.name ?? $0 })
    }

    private static func syncKinds(_ db: Database) throws -> [SyncKind] {
        guard try db.tableExists("sync_state") else { return [] }
        return try Row.fetchAll(db, sql: """
            SELECT kind, started_at, finished_at, error, listed, fetched, new, changed, deleted, unchanged
            FROM sync_state ORDER BY kind
            """).map { row in
            SyncKind(
                kind: row[0], startedAt: row[1], finishedAt: row[2], error: row[3], listed: row[4], fetched: row[5],
                new: row[6], changed: row[7], deleted: row[8], unchanged: row[9],
                drift: (row[6] as Int) + (row[7] as Int) + (row[8] as Int))
        }
    }

    static func problems(
        actions: [ActionActivity], projections: [ProjectionState], oldestWaiting: String?, now: Timestamp,
        quarantine: Quarantine, rejections: Rejections, hint: String?, sync: [SyncKind]
    ) -> [String] {
        var problems: [String] = []
        for action in actions where action.state == "silent" {
            let last = action.lastReceivedAt.flatMap { Timestamp(parsing: $0) }.map { seconds(from: $0, to: now) } ?? 0
            problems.append(
                "silent: \(action.action) received nothing for \(HumanDuration.describe(last)) "
                    + "(threshold \(HumanDuration.describe(action.silenceThresholdSeconds)), \(action.thresholdSource))")
        }
        for action in actions where action.state == "disabled in Nexudus" {
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

    private static func seconds(from start: Timestamp, to end: Timestamp) -> Double {
        end.secondsSince1970 - start.secondsSince1970
    }

    private static func order(of projection: String) -> Int {
        Projections.all.firstIndex { $0.name == projection } ?? Int.max
    }

    private static func size(of path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Rejections with no verified delivery since mean Nexudus and nexmirror disagree on the
    /// secret (or Nexudus sends none), which a rejection count alone does not say.
    static func hint(_ rejections: Rejections) -> String? {
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

extension SQLiteStore: StatusReporting {
    public func statusReport(now: Timestamp, silence: SilenceRule) async throws -> StatusReport {
        let path = self.path
        return try await pool.read { db in try StatusReport(db: db, path: path, now: now, silence: silence) }
    }
}
