import NexMirrorCore

extension StatusReport {
    /// Gathers the report at instant `now` (a parameter so the silence rule can be tested with a
    /// fake clock) in one read-only snapshot of `executor`: first which optional tables and
    /// columns exist, then every figure. `size`, when given, reads the log's size in bytes in the
    /// same snapshot (a SQLite backend measures its files instead and sets them after).
    public static func read(
        from executor: some SQLExecutor, database: String, now: Timestamp, silence: SilenceRule,
        size: SQLStatement? = nil
    ) async throws -> StatusReport {
        let dialect = executor.dialect
        let (found, rows) = try await executor.read(StatusPlan.probe(dialect)) { found in
            StatusPlan(found, now: now, dialect: dialect, size: size).statements
        }
        return StatusPlan(found, now: now, dialect: dialect, size: size)
            .report(rows, database: database, silence: silence)
    }
}

/// The status queries, written once for both dialects, and how their rows make the report.
/// The batch depends only on which optional tables exist (a SQLite file read without
/// migrating may predate them), so a backend can run the probe and the batch in one snapshot.
package struct StatusPlan {
    let now: Timestamp
    let dialect: SQLDialect
    /// The report's tables that exist, in `StatusReport.tableNames` order.
    let tables: [String]
    let hasWebhooks: Bool
    let hasSyncState: Bool
    let hasFetchMode: Bool
    let hasErasures: Bool
    let size: SQLStatement?

    /// Which tables and views exist, and the columns of `sync_state`.
    package static func probe(_ dialect: SQLDialect) -> [SQLStatement] {
        [SQLStatement(dialect.relations), SQLStatement(dialect.columns(of: "sync_state"))]
    }

    package init(_ probed: [[[Cell]]], now: Timestamp, dialect: SQLDialect, size: SQLStatement? = nil) {
        let relations = Set(probed[0].compactMap { $0.first?.textValue })
        self.now = now
        self.dialect = dialect
        self.size = size
        tables = StatusReport.tableNames.filter(relations.contains)
        hasWebhooks = relations.contains("nexudus_webhooks")
        hasSyncState = relations.contains("sync_state")
        hasFetchMode = probed[1].contains { $0.first?.textValue == "fetch_mode" }
        hasErasures = relations.contains("erased_subjects")
    }

    /// Each statement's place in the batch; those of tables that may be missing come last.
    private enum Figure: Int, CaseIterable {
        case lastSeq, deliveries, quarantined, newest, perAction, webhooks, gaps, hourly
        case quarantined24h, newestQuarantined, projections, oldestWaiting
        case lastVerified, latestRejection, rejectionsTotal, rejectionsKept, rejections24h, sinceLastVerified
        case disabled, sync, erasures, size
    }

    private var day: String { Timestamp(ticks: now.ticks - 86_400 * Timestamp.ticksPerSecond).description }
    private var week: String { Timestamp(ticks: now.ticks - 7 * 86_400 * Timestamp.ticksPerSecond).description }

    /// The first of the 168 hours `hourly` shows, oldest first.
    private var hours: [Timestamp] {
        let hour = 3_600 * Timestamp.ticksPerSecond
        let current = now.ticks - ((now.ticks % hour) + hour) % hour
        return (0..<168).reversed().map { Timestamp(ticks: current - Int64($0) * hour) }
    }

    package var statements: [SQLStatement] {
        let p = dialect.parameter
        let quarantined = "status = '\(DeliveryStatus.quarantined.rawValue)'"
        // Verified deliveries are webhooks: the condition on source lets events_activity cover it.
        let lastVerified = """
            SELECT max(received_at) FROM events WHERE source = 'webhook' \
            AND signature IN ('\(SignatureForm.raw.rawValue)', '\(SignatureForm.asciiFolded.rawValue)')
            """
        let windowStart = Timestamp(ticks: now.ticks - Int64(SilenceRule.window) * Timestamp.ticksPerSecond)
        let previous = "(lag(received_at) OVER (PARTITION BY action ORDER BY received_at))"
        let none = SQLStatement("SELECT 1 WHERE 1 = 0")
        var batch: [Figure: SQLStatement] = [
            .lastSeq: SQLStatement("SELECT max(seq) FROM events"),
            .deliveries: SQLStatement("SELECT count(*) FROM events"),
            .quarantined: SQLStatement("SELECT count(*) FROM events WHERE \(quarantined)"),
            .newest: SQLStatement("SELECT received_at, action FROM events ORDER BY seq DESC LIMIT 1"),
            .perAction: SQLStatement("SELECT action, count(*) FROM events GROUP BY action"),
            .webhooks: SQLStatement("""
                SELECT action, count(CASE WHEN received_at >= \(p(1)) THEN 1 END),
                       count(CASE WHEN received_at >= \(p(2)) THEN 1 END), max(received_at)
                FROM events WHERE source = 'webhook' GROUP BY action
                """, [.text(day), .text(week)]),
            // Consecutive gaps per action inside the learning window (SilenceRule).
            .gaps: SQLStatement("""
                SELECT action, count(*), max(gap) FROM (
                    SELECT action, \(dialect.seconds(from: previous, to: "received_at")) AS gap
                    FROM events WHERE source = 'webhook' AND received_at >= \(p(1)) AND received_at <= \(p(2))) AS gaps
                GROUP BY action
                """, [.text(windowStart.description), .text(now.description)]),
            .hourly: SQLStatement("""
                SELECT substr(received_at, 1, 13), count(*) FROM events
                WHERE source = 'webhook' AND received_at >= \(p(1)) AND received_at <= \(p(2)) GROUP BY 1
                """, [.text(hours[0].description), .text(now.description)]),
            .quarantined24h: SQLStatement(
                "SELECT count(*) FROM events WHERE \(quarantined) AND received_at >= \(p(1))", [.text(day)]),
            .newestQuarantined: SQLStatement("""
                SELECT seq, action, received_at, error FROM events WHERE \(quarantined)
                ORDER BY seq DESC LIMIT \(StatusReport.newestQuarantined)
                """),
            .projections: SQLStatement("SELECT name, version, checkpoint, rebuilt_at, updated_at FROM projections"),
            // After the slowest projection's checkpoint (the log's end when there is none).
            .oldestWaiting: SQLStatement("""
                SELECT received_at FROM events
                WHERE seq > coalesce((SELECT min(checkpoint) FROM projections), (SELECT max(seq) FROM events), 0)
                ORDER BY seq LIMIT 1
                """),
            .lastVerified: SQLStatement(lastVerified),
            .latestRejection: SQLStatement("SELECT received_at, reason FROM rejections ORDER BY id DESC LIMIT 1"),
            .rejectionsTotal: SQLStatement("SELECT max(id) FROM rejections"),
            .rejectionsKept: SQLStatement("SELECT count(*) FROM rejections"),
            .rejections24h: SQLStatement("SELECT count(*) FROM rejections WHERE received_at >= \(p(1))", [.text(day)]),
            .sinceLastVerified: SQLStatement(
                "SELECT count(*) FROM rejections WHERE received_at > coalesce((\(lastVerified)), '')"),
            .disabled: hasWebhooks ? SQLStatement("""
                SELECT action FROM nexudus_webhooks WHERE action IS NOT NULL
                GROUP BY action HAVING sum(active) = 0
                """) : none,
            // A SQLite file from before migration 0005 (read without migrating) has no fetch columns.
            .sync: hasSyncState ? SQLStatement("""
                SELECT kind, started_at, finished_at, error, listed, fetched, new, changed, deleted, unchanged,
                    \(hasFetchMode ? "fetch_mode, fetch_note" : "NULL, NULL")
                FROM sync_state ORDER BY \(dialect.ascending("kind"))
                """) : none,
            .erasures: hasErasures ? SQLStatement("""
                SELECT (SELECT count(*) FROM erased_subjects), (SELECT count(*) FROM erasures),
                       (SELECT count(*) FROM (\(ErasureStatements.deletedCoworkers)) AS pending)
                """) : none,
        ]
        batch[.size] = size ?? none
        // Names come from the projections compiled in, never from input.
        return Figure.allCases.map { batch[$0]! } + tables.map { SQLStatement("SELECT count(*) FROM \($0)") }
    }

    /// The report the batch's rows make (`rows` in the order of `statements`).
    package func report(_ rows: [[[Cell]]], database: String, silence: SilenceRule) -> StatusReport {
        func figure(_ figure: Figure) -> [[Cell]] { rows[figure.rawValue] }
        func value(_ figure: Figure) -> Cell { rows[figure.rawValue].first?.first ?? .null }
        var report = StatusReport(database: database, generatedAt: now.description)
        let lastSeq = value(.lastSeq).int64Value ?? 0
        report.log = .init(
            deliveries: value(.deliveries).intValue, lastSeq: lastSeq, quarantined: value(.quarantined).intValue,
            fileBytes: value(.size).int64Value ?? 0, walBytes: 0)
        if let newest = figure(.newest).first {
            report.log.lastReceivedAt = newest[0].textValue
            report.log.lastAction = newest[1].textValue
        }
        let counts = rows.suffix(tables.count).map { $0.first?.first?.intValue ?? 0 }
        report.tables = Dictionary(uniqueKeysWithValues: zip(tables, counts))

        let disabled = Set(figure(.disabled).compactMap { $0[0].textValue }.map { ActionCatalog.action(named: $0)?.name ?? $0 })
        report.disabledInNexudus = disabled.sorted()
        report.actions = StatusReport.activity(actionFigures(rows), now: now, silence: silence, disabled: disabled)
        report.silent = report.actions.filter { $0.state == .silent }.map(\.action)
        var perHour: [String: Int] = [:]
        for row in figure(.hourly) { perHour[row[0].textValue ?? ""] = row[1].intValue }
        report.hourly = hours.map { start in
            StatusReport.HourBucket(hour: start.description, deliveries: perHour[String(start.description.prefix(13))] ?? 0)
        }

        report.quarantine = .init(
            total: report.log.quarantined, last24h: value(.quarantined24h).intValue,
            newest: figure(.newestQuarantined).map {
                StatusReport.QuarantinedDelivery(
                    seq: $0[0].int64Value ?? 0, action: $0[1].textValue ?? "", receivedAt: $0[2].textValue ?? "",
                    error: $0[3].textValue)
            })
        report.projections = figure(.projections).map { row in
            let checkpoint = row[2].int64Value ?? 0
            return StatusReport.ProjectionState(
                name: row[0].textValue ?? "", version: row[1].intValue, checkpoint: checkpoint,
                lag: max(0, lastSeq - checkpoint), rebuiltAt: row[3].textValue, updatedAt: row[4].textValue)
        }.sorted { StatusReport.order(of: $0.name) < StatusReport.order(of: $1.name) }

        let latest = figure(.latestRejection).first
        report.rejections = .init(
            total: value(.rejectionsTotal).int64Value ?? 0, kept: value(.rejectionsKept).intValue,
            last24h: value(.rejections24h).intValue, lastAt: latest?[0].textValue, lastReason: latest?[1].textValue,
            sinceLastVerified: value(.sinceLastVerified).intValue, lastVerifiedAt: value(.lastVerified).textValue)
        report.hint = StatusReport.hint(report.rejections)
        report.sync = figure(.sync).map { row in
            let new = row[6].intValue, changed = row[7].intValue, deleted = row[8].intValue
            return StatusReport.SyncKind(
                kind: row[0].textValue ?? "", startedAt: row[1].textValue, finishedAt: row[2].textValue,
                error: row[3].textValue, listed: row[4].intValue, fetched: row[5].intValue, new: new, changed: changed,
                deleted: deleted, unchanged: row[9].intValue, drift: new + changed + deleted,
                fetchMode: row[10].textValue, fetchNote: row[11].textValue)
        }
        if let erasures = figure(.erasures).first {
            report.erasures.subjectsErased = erasures[0].intValue
            report.erasures.deliveriesErased = erasures[1].intValue
            report.erasures.pending = erasures[2].intValue
        }
        report.problems = StatusReport.problems(
            actions: report.actions, projections: report.projections, oldestWaiting: value(.oldestWaiting).textValue,
            now: now, quarantine: report.quarantine, rejections: report.rejections, hint: report.hint, sync: report.sync)
        return report
    }

    private func actionFigures(_ rows: [[[Cell]]]) -> [String: StatusReport.ActionFigures] {
        var figures: [String: StatusReport.ActionFigures] = [:]
        for row in rows[Figure.perAction.rawValue] {
            figures[row[0].textValue ?? "", default: .init()].deliveries = row[1].intValue
        }
        for row in rows[Figure.webhooks.rawValue] {
            let action = row[0].textValue ?? ""
            figures[action, default: .init()].webhooks24h = row[1].intValue
            figures[action, default: .init()].webhooks7d = row[2].intValue
            figures[action, default: .init()].lastWebhookAt = row[3].textValue
        }
        for row in rows[Figure.gaps.rawValue] {
            let action = row[0].textValue ?? ""
            figures[action, default: .init()].webhooksInWindow = row[1].intValue
            figures[action, default: .init()].longestGap = row[2].doubleValue
        }
        return figures
    }
}
