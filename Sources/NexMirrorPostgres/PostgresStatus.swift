import Logging
import NexMirrorCore
import NexMirrorStore
import PostgresNIO

/// `status`, `GET /api/status` and the dashboard on PostgreSQL: the same report as on SQLite,
/// gathered in one read-only snapshot so its numbers agree with each other. The database's size
/// (`pg_database_size`) stands for the log file's; PostgreSQL's WAL is the cluster's, not this
/// database's, so `wal_bytes` is 0.
extension PostgresStore: StatusReporting {
    public func statusReport(now: Timestamp, silence: SilenceRule) async throws -> StatusReport {
        let url = self.url
        let logger = self.logger
        return try await client.withConnection { connection in
            let snapshot = Snapshot(connection: connection, logger: logger)
            try await connection.query("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                let report = try await snapshot.report(database: url.description, now: now, silence: silence)
                try await connection.query("ROLLBACK", logger: logger)
                return report
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }
}

extension PostgresReader {
    public func statusReport(now: Timestamp, silence: SilenceRule) async throws -> StatusReport {
        try await store.statusReport(now: now, silence: silence)
    }
}

/// The status queries, in PostgreSQL's dialect, on one connection inside one transaction.
private struct Snapshot {
    let connection: PostgresConnection
    let logger: Logger

    func report(database: String, now: Timestamp, silence: SilenceRule) async throws -> StatusReport {
        var report = StatusReport(database: database, generatedAt: now.description)
        let day = Timestamp(ticks: now.ticks - 86_400 * Timestamp.ticksPerSecond).description
        let week = Timestamp(ticks: now.ticks - 7 * 86_400 * Timestamp.ticksPerSecond).description
        let quarantined = DeliveryStatus.quarantined.rawValue

        let lastSeq = try await one("SELECT max(seq) FROM events")[0].int64 ?? 0
        report.log = .init(
            deliveries: try await count("SELECT count(*) FROM events"),
            lastSeq: lastSeq,
            quarantined: try await count("SELECT count(*) FROM events WHERE status = '\(quarantined)'"),
            fileBytes: try await one("SELECT pg_database_size(current_database())")[0].int64 ?? 0, walBytes: 0)
        if let newest = try await rows("SELECT received_at, action FROM events ORDER BY seq DESC LIMIT 1").first {
            report.log.lastReceivedAt = newest[0].text
            report.log.lastAction = newest[1].text
        }

        let existing = Set(try await rows(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()"
        ).compactMap { $0[0].text })
        var tables: [String: Int] = [:]
        // Names come from the projections compiled in, never from input.
        for name in StatusReport.tableNames where existing.contains(name) {
            tables[name] = try await count("SELECT count(*) FROM \(name)")
        }
        report.tables = tables

        let disabled = Set(try await rows("""
            SELECT action FROM nexudus_webhooks WHERE action IS NOT NULL
            GROUP BY action HAVING sum(active) = 0
            """).compactMap { $0[0].text }.map { ActionCatalog.action(named: $0)?.name ?? $0 })
        report.disabledInNexudus = disabled.sorted()
        report.actions = StatusReport.activity(
            try await activity(now: now, day: day, week: week), now: now, silence: silence, disabled: disabled)
        report.silent = report.actions.filter { $0.state == .silent }.map(\.action)
        report.hourly = try await hourly(now: now)

        report.quarantine = .init(
            total: report.log.quarantined,
            last24h: try await count(
                "SELECT count(*) FROM events WHERE status = '\(quarantined)' AND received_at >= $1", [.text(day)]),
            newest: try await rows("""
                SELECT seq, action, received_at, error FROM events WHERE status = '\(quarantined)'
                ORDER BY seq DESC LIMIT \(StatusReport.newestQuarantined)
                """).map {
                StatusReport.QuarantinedDelivery(
                    seq: $0[0].int64 ?? 0, action: $0[1].text ?? "", receivedAt: $0[2].text ?? "", error: $0[3].text)
            })

        report.projections = try await rows("SELECT name, version, checkpoint, rebuilt_at, updated_at FROM projections")
            .map { row in
                let checkpoint = row[2].int64 ?? 0
                return StatusReport.ProjectionState(
                    name: row[0].text ?? "", version: Int(row[1].int64 ?? 0), checkpoint: checkpoint,
                    lag: max(0, lastSeq - checkpoint), rebuiltAt: row[3].text, updatedAt: row[4].text)
            }
            .sorted { StatusReport.order(of: $0.name) < StatusReport.order(of: $1.name) }

        let lastVerifiedAt = try await one("""
            SELECT max(received_at) FROM events WHERE source = 'webhook'
            AND signature IN ('\(SignatureForm.raw.rawValue)', '\(SignatureForm.asciiFolded.rawValue)')
            """)[0].text
        let latest = try await rows("SELECT received_at, reason FROM rejections ORDER BY id DESC LIMIT 1").first
        report.rejections = .init(
            total: try await one("SELECT max(id) FROM rejections")[0].int64 ?? 0,
            kept: try await count("SELECT count(*) FROM rejections"),
            last24h: try await count("SELECT count(*) FROM rejections WHERE received_at >= $1", [.text(day)]),
            lastAt: latest?[0].text, lastReason: latest?[1].text,
            sinceLastVerified: try await count(
                "SELECT count(*) FROM rejections WHERE received_at > coalesce($1, '')",
                [lastVerifiedAt.map(SQLValue.text) ?? .null]),
            lastVerifiedAt: lastVerifiedAt)
        report.hint = StatusReport.hint(report.rejections)
        report.sync = try await rows("""
            SELECT kind, started_at, finished_at, error, listed, fetched, new, changed, deleted, unchanged,
                to_jsonb(s) ->> 'fetch_mode', to_jsonb(s) ->> 'fetch_note'
            FROM sync_state s ORDER BY kind COLLATE "C"
            """).map { row in
            let new = row[6].int, changed = row[7].int, deleted = row[8].int
            return StatusReport.SyncKind(
                kind: row[0].text ?? "", startedAt: row[1].text, finishedAt: row[2].text, error: row[3].text,
                listed: row[4].int, fetched: row[5].int, new: new, changed: changed, deleted: deleted,
                unchanged: row[9].int, drift: new + changed + deleted, fetchMode: row[10].text, fetchNote: row[11].text)
        }
        if try await count("SELECT count(*) FROM pg_tables WHERE tablename = 'erased_subjects' AND schemaname = current_schema()") > 0 {
            report.erasures.subjectsErased = try await count("SELECT count(*) FROM erased_subjects")
            report.erasures.deliveriesErased = try await count("SELECT count(*) FROM erasures")
            report.erasures.pending = try await count("SELECT count(*) FROM (\(PostgresStore.deletedCoworkers)) p")
        }

        let oldestWaiting = try await rows(
            "SELECT received_at FROM events WHERE seq > $1 ORDER BY seq LIMIT 1",
            [.integer(report.projections.map(\.checkpoint).min() ?? lastSeq)]
        ).first?[0].text
        report.problems = StatusReport.problems(
            actions: report.actions, projections: report.projections, oldestWaiting: oldestWaiting, now: now,
            quarantine: report.quarantine, rejections: report.rejections, hint: report.hint, sync: report.sync)
        return report
    }

    private func activity(now: Timestamp, day: String, week: String) async throws -> [String: StatusReport.ActionFigures] {
        var figures: [String: StatusReport.ActionFigures] = [:]
        for row in try await rows("SELECT action, count(*) FROM events GROUP BY action") {
            figures[row[0].text ?? "", default: .init()].deliveries = row[1].int
        }
        for row in try await rows("""
            SELECT action, count(*) FILTER (WHERE received_at >= $1), count(*) FILTER (WHERE received_at >= $2),
                   max(received_at)
            FROM events WHERE source = 'webhook' GROUP BY action
            """, [.text(day), .text(week)]) {
            let action = row[0].text ?? ""
            figures[action, default: .init()].webhooks24h = row[1].int
            figures[action, default: .init()].webhooks7d = row[2].int
            figures[action, default: .init()].lastWebhookAt = row[3].text
        }
        // Consecutive gaps per action inside the learning window (SilenceRule); timestamptz
        // keeps microseconds, which is finer than the rule needs.
        let windowStart = Timestamp(ticks: now.ticks - Int64(SilenceRule.window) * Timestamp.ticksPerSecond)
        for row in try await rows("""
            SELECT action, count(*), max(gap) FROM (
                SELECT action, extract(epoch FROM received_at::timestamptz
                    - lag(received_at::timestamptz) OVER (PARTITION BY action ORDER BY received_at))::float8 AS gap
                FROM events WHERE source = 'webhook' AND received_at >= $1 AND received_at <= $2) AS gaps
            GROUP BY action
            """, [.text(windowStart.description), .text(now.description)]) {
            let action = row[0].text ?? ""
            figures[action, default: .init()].webhooksInWindow = row[1].int
            figures[action, default: .init()].longestGap = row[2].double
        }
        return figures
    }

    private func hourly(now: Timestamp) async throws -> [StatusReport.HourBucket] {
        let hour = 3_600 * Timestamp.ticksPerSecond
        let current = now.ticks - ((now.ticks % hour) + hour) % hour
        let starts = (0..<168).reversed().map { Timestamp(ticks: current - Int64($0) * hour) }
        var counts: [String: Int] = [:]
        for row in try await rows("""
            SELECT substr(received_at, 1, 13), count(*) FROM events
            WHERE source = 'webhook' AND received_at >= $1 AND received_at <= $2 GROUP BY 1
            """, [.text(starts[0].description), .text(now.description)]) {
            counts[row[0].text ?? ""] = row[1].int
        }
        return starts.map { start in
            StatusReport.HourBucket(hour: start.description, deliveries: counts[String(start.description.prefix(13))] ?? 0)
        }
    }

    private func rows(_ sql: String, _ values: [SQLValue] = []) async throws -> [[Cell]] {
        var binds = PostgresBindings()
        for value in values { binds.bind(value) }
        var result: [[Cell]] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger) {
            result.append(row.map(PostgresReader.cell))
        }
        return result
    }

    private func one(_ sql: String, _ values: [SQLValue] = []) async throws -> [Cell] {
        try await rows(sql, values).first ?? []
    }

    private func count(_ sql: String, _ values: [SQLValue] = []) async throws -> Int {
        try await one(sql, values).first?.int ?? 0
    }
}

extension Cell {
    fileprivate var int64: Int64? {
        switch self {
        case .integer(let value): value
        case .real(let value): Int64(exactly: value)
        case .decimal(let text): Int64(text)
        default: nil
        }
    }

    fileprivate var int: Int { int64.map(Int.init) ?? 0 }

    fileprivate var double: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .real(let value): value
        case .decimal(let text): Double(text)
        default: nil
        }
    }

    fileprivate var text: String? {
        if case .text(let text) = self { text } else { nil }
    }
}
