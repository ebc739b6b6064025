import Foundation
import GRDB
import NexMirrorCore
import NexMirrorProjections
import NexMirrorStore

extension StatusReport {
    /// Reads the report at instant `now` (a parameter so the silence rule can be tested with a
    /// fake clock).
    public init(db: Database, path: String, now: Timestamp = .now, silence: SilenceRule = SilenceRule()) throws {
        self.init(database: path, generatedAt: now.description)
        let day = Timestamp(ticks: now.ticks - 86_400 * Timestamp.ticksPerSecond).description
        let week = Timestamp(ticks: now.ticks - 7 * 86_400 * Timestamp.ticksPerSecond).description

        let lastSeq = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM events") ?? 0
        log = Log(
            deliveries: try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0,
            lastSeq: lastSeq,
            quarantined: try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE status = '\(DeliveryStatus.quarantined.rawValue)'") ?? 0,
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
        silent = actions.filter { $0.state == .silent }.map(\.action)
        hourly = try Self.hourly(db, now: now)

        quarantine = Quarantine(
            total: log.quarantined,
            last24h: try Int.fetchOne(
                db, sql: "SELECT count(*) FROM events WHERE status = '\(DeliveryStatus.quarantined.rawValue)' AND received_at >= ?",
                arguments: [day]) ?? 0,
            newest: try Row.fetchAll(
                db, sql: """
                    SELECT seq, action, received_at, error FROM events WHERE status = '\(DeliveryStatus.quarantined.rawValue)'
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
            db, sql: "SELECT max(received_at) FROM events WHERE source = 'webhook' AND signature IN ('\(SignatureForm.raw.rawValue)', '\(SignatureForm.asciiFolded.rawValue)')")
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
        if try db.tableExists("erased_subjects") {
            erasures.subjectsErased = try Int.fetchOne(db, sql: "SELECT count(*) FROM erased_subjects") ?? 0
            erasures.deliveriesErased = try Int.fetchOne(db, sql: "SELECT count(*) FROM erasures") ?? 0
            erasures.pending = try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(SQLiteStore.deletedCoworkers))") ?? 0
        }

        let oldestWaiting = try String.fetchOne(
            db, sql: "SELECT received_at FROM events WHERE seq > ? ORDER BY seq LIMIT 1",
            arguments: [projections.map(\.checkpoint).min() ?? lastSeq])
        problems = Self.problems(
            actions: actions, projections: projections, oldestWaiting: oldestWaiting, now: now,
            quarantine: quarantine, rejections: rejections, hint: hint, sync: sync)
    }

    // MARK: Gathering

    private static func activity(
        _ db: Database, now: Timestamp, day: String, week: String, silence: SilenceRule, disabled: Set<String>
    ) throws -> [ActionActivity] {
        var figures: [String: ActionFigures] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT action, count(*) FROM events GROUP BY action") {
            figures[row[0], default: ActionFigures()].deliveries = row[1]
        }
        for row in try Row.fetchAll(db, sql: """
            SELECT action, sum(received_at >= ?), sum(received_at >= ?), max(received_at)
            FROM events WHERE source = 'webhook' GROUP BY action
            """, arguments: [day, week]) {
            figures[row[0], default: ActionFigures()].webhooks24h = row[1]
            figures[row[0], default: ActionFigures()].webhooks7d = row[2]
            figures[row[0], default: ActionFigures()].lastWebhookAt = row[3]
        }
        // Consecutive gaps per action inside the learning window (SilenceRule).
        let windowStart = Timestamp(ticks: now.ticks - Int64(SilenceRule.window) * Timestamp.ticksPerSecond)
        for row in try Row.fetchAll(db, sql: """
            SELECT action, count(*), max(gap) FROM (
                SELECT action, (julianday(received_at)
                    - julianday(lag(received_at) OVER (PARTITION BY action ORDER BY received_at))) * 86400.0 AS gap
                FROM events WHERE source = 'webhook' AND received_at >= ? AND received_at <= ?)
            GROUP BY action
            """, arguments: [windowStart.description, now.description]) {
            figures[row[0], default: ActionFigures()].webhooksInWindow = row[1]
            figures[row[0], default: ActionFigures()].longestGap = row[2]
        }
        return activity(figures, now: now, silence: silence, disabled: disabled)
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
        // A database from before 0005 (read without migrating) has no fetch columns yet.
        let hasFetchMode = try db.columns(in: "sync_state").contains { $0.name == "fetch_mode" }
        return try Row.fetchAll(db, sql: """
            SELECT kind, started_at, finished_at, error, listed, fetched, new, changed, deleted, unchanged,
                \(hasFetchMode ? "fetch_mode, fetch_note" : "NULL, NULL")
            FROM sync_state ORDER BY kind
            """).map { row in
            SyncKind(
                kind: row[0], startedAt: row[1], finishedAt: row[2], error: row[3], listed: row[4], fetched: row[5],
                new: row[6], changed: row[7], deleted: row[8], unchanged: row[9],
                drift: (row[6] as Int) + (row[7] as Int) + (row[8] as Int), fetchMode: row[10], fetchNote: row[11])
        }
    }

    private static func size(of path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

}

extension SQLiteStore: StatusReporting {
    public func statusReport(now: Timestamp, silence: SilenceRule) async throws -> StatusReport {
        let path = self.path
        return try await pool.read { db in try StatusReport(db: db, path: path, now: now, silence: silence) }
    }
}
