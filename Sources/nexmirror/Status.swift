import ArgumentParser
import Foundation
import GRDB
import NexMirrorProjections

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the log, the replica and the projections at a glance.",
        discussion: """
            Rows per replica table; the database size on disk (file + WAL) and the number of \
            deliveries in the log; the last delivery of each action; each projection's checkpoint \
            (last folded seq) and lag (deliveries not folded yet); quarantined deliveries; and \
            signature rejections (the total ever, the last 1000 kept). When deliveries were \
            rejected after the last verified one, a hint says the secret is probably wrong.

            Examples:
              nexmirror status
              nexmirror status --format json | jq .projections
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @OptionGroup var database: DatabaseOptions

    @Option(help: "text or json.")
    var format: Format = .text

    func run() async throws {
        let queue = try ReadOnlyDatabase.open(database)
        let report = try ReadOnlyDatabase.read(queue) { db in try StatusReport(db: db, path: database.path) }
        if format == .json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            Terminal.write(toStandardOutput: String(decoding: try encoder.encode(report), as: UTF8.self) + "\n")
        } else {
            Terminal.write(toStandardOutput: report.text)
        }
    }
}

/// Everything `status` shows, read in one transaction so the numbers agree with each other.
struct StatusReport: Encodable {
    struct Log: Encodable {
        var deliveries: Int
        var lastSeq: Int64
        var quarantined: Int
        var fileBytes: Int64
        var walBytes: Int64
    }

    struct ActionActivity: Encodable {
        var action: String
        var deliveries: Int
        var lastReceivedAt: String
    }

    struct ProjectionState: Encodable {
        var name: String
        var version: Int
        var checkpoint: Int64
        var lag: Int64
        var rebuiltAt: String?
        var updatedAt: String?
    }

    struct Rejections: Encodable {
        /// Every rejection ever (the table's AUTOINCREMENT id); only the last 1000 are kept.
        var total: Int64
        var kept: Int
        var lastAt: String?
        var lastReason: String?
        var sinceLastVerified: Int
        var lastVerifiedAt: String?
    }

    var database: String
    var log: Log
    var tables: [String: Int]
    var actions: [ActionActivity]
    var projections: [ProjectionState]
    var rejections: Rejections
    var hint: String?

    /// The replica's tables, in the projections' order, then the log's bookkeeping.
    static var tableNames: [String] {
        var names: [String] = []
        for projection in Projections.all {
            for table in projection.ownedTables where !names.contains(table) { names.append(table) }
        }
        return names + ["members", "tombstones"]
    }

    init(db: Database, path: String) throws {
        database = path
        let lastSeq = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM events") ?? 0
        log = Log(
            deliveries: try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0,
            lastSeq: lastSeq,
            quarantined: try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE status = 'quarantined'") ?? 0,
            fileBytes: Self.size(of: path), walBytes: Self.size(of: path + "-wal"))

        var tables: [String: Int] = [:]
        for name in Self.tableNames where try db.tableExists(name) || db.viewExists(name) {
            // Names come from the projections compiled in, never from input.
            tables[name] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(name)") ?? 0
        }
        self.tables = tables

        actions = try Row.fetchAll(
            db, sql: "SELECT action, count(*), max(received_at) FROM events GROUP BY action ORDER BY action"
        ).map { ActionActivity(action: $0[0], deliveries: $0[1], lastReceivedAt: $0[2]) }

        projections = try Row.fetchAll(
            db, sql: "SELECT name, version, checkpoint, rebuilt_at, updated_at FROM projections"
        ).map { row in
            ProjectionState(
                name: row[0], version: row[1], checkpoint: row[2], lag: max(0, lastSeq - (row[2] as Int64)),
                rebuiltAt: row[3], updatedAt: row[4])
        }.sorted { Self.order(of: $0.name) < Self.order(of: $1.name) }

        let lastVerifiedAt = try String.fetchOne(
            db, sql: "SELECT max(received_at) FROM events WHERE signature IN ('raw', 'ascii-folded')")
        let latest = try Row.fetchOne(db, sql: "SELECT received_at, reason FROM rejections ORDER BY id DESC LIMIT 1")
        rejections = Rejections(
            total: try Int64.fetchOne(db, sql: "SELECT max(id) FROM rejections") ?? 0,
            kept: try Int.fetchOne(db, sql: "SELECT count(*) FROM rejections") ?? 0,
            lastAt: latest?[0], lastReason: latest?[1],
            sinceLastVerified: try Int.fetchOne(
                db, sql: "SELECT count(*) FROM rejections WHERE received_at > coalesce(?, '')",
                arguments: [lastVerifiedAt]) ?? 0,
            lastVerifiedAt: lastVerifiedAt)
        hint = Self.hint(rejections)
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

    var text: String {
        var lines: [String] = []
        let megabytes = Double(log.fileBytes + log.walBytes) / 1_048_576
        lines.append("database     \(database) (\(String(format: "%.1f", megabytes)) MiB with WAL)")
        lines.append("event log    \(log.deliveries) \(log.deliveries == 1 ? "delivery" : "deliveries"), last seq \(log.lastSeq), \(log.quarantined) quarantined")
        var rejected = "rejected     \(rejections.total) signature rejections"
        if let lastAt = rejections.lastAt { rejected += ", last at \(lastAt) (\(rejections.lastReason ?? "?"))" }
        lines.append(rejected)
        lines.append("")
        lines.append(contentsOf: Self.grid(
            [["table", "rows"]] + Self.tableNames.compactMap { name in tables[name].map { [name, String($0)] } },
            rightAligned: [1]))
        lines.append("")
        lines.append(contentsOf: Self.grid(
            [["projection", "version", "checkpoint", "lag"]]
                + projections.map { [$0.name, String($0.version), String($0.checkpoint), String($0.lag)] },
            rightAligned: [1, 2, 3]))
        lines.append("")
        if actions.isEmpty {
            lines.append("no delivery received yet")
        } else {
            lines.append(contentsOf: Self.grid(
                [["action", "deliveries", "last received"]]
                    + actions.map { [$0.action, String($0.deliveries), $0.lastReceivedAt] },
                rightAligned: [1]))
        }
        if let hint {
            lines.append("")
            lines.append("hint: \(hint)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func grid(_ rows: [[String]], rightAligned: Set<Int>) -> [String] {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max()! }
        return rows.map { row in
            row.indices.map { column in
                let padding = String(repeating: " ", count: widths[column] - row[column].count)
                return rightAligned.contains(column) ? padding + row[column] : row[column] + padding
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}
