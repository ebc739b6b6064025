import ArgumentParser
import Foundation
import NexMirrorCore
import NexMirrorStore

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the log, the replica, the projections and the webhooks' health at a glance.",
        discussion: """
            Rows per replica table; the database size on disk (file + WAL; on PostgreSQL the \
            database's pg_database_size, its WAL being the cluster's) and the number of \
            deliveries in the log; per action the webhook deliveries of the last 24 h and 7 days, \
            the last one and its state (ok, silent, never, disabled in Nexudus); each projection's \
            checkpoint and lag; quarantined deliveries; signature rejections; the last sync and \
            its drift per kind. When deliveries were rejected after the last verified one, a hint \
            says the secret is probably wrong.

            An action is silent when no webhook delivered it for longer than its threshold: \
            --silence-after for all, else twice the longest gap between its deliveries in the \
            last 30 days (between 1 h and 30 d; 7 d with fewer than 5 deliveries). See the README.

            --check prints one line per problem (silent action, webhook disabled in Nexudus, \
            projection lag, quarantines or rejections in the last 24 h, failing sync) and exits \
            3 when there is any, 0 when there is none: made for cron, systemd timers and \
            monitoring agents.

            Examples:
              nexmirror status
              nexmirror status --format json | jq .projections
              nexmirror status --check --silence-after 6h || mail -s nexmirror ops@example.com
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @OptionGroup var database: DatabaseOptions

    @Option(help: "text or json.")
    var format: Format = .text

    @Flag(help: "Print only the problems, one per line; exit 3 when there is any, else 0.")
    var check = false

    @Option(help: ArgumentHelp(
        "One silence threshold for every action (90m, 6h, 2d), instead of each action's learned one.",
        valueName: "duration"))
    var silenceAfter: String?

    func validate() throws { _ = try SilenceOption.rule(silenceAfter) }

    func run() async throws {
        let rule = try SilenceOption.rule(silenceAfter)
        let report = try await database.openLogReader().statusReport(now: .now, silence: rule)
        if check {
            for problem in report.problems { Terminal.write(toStandardOutput: problem + "\n") }
            if !report.problems.isEmpty { throw ExitCode(3) }
            return
        }
        if format == .json {
            Terminal.write(toStandardOutput: String(decoding: try report.json(), as: UTF8.self) + "\n")
        } else {
            Terminal.write(toStandardOutput: StatusText.render(report))
        }
    }
}

/// `--silence-after DURATION`, shared by `status` and `serve`.
enum SilenceOption {
    static func rule(_ text: String?) throws -> SilenceRule {
        guard let text else { return SilenceRule() }
        guard let seconds = HumanDuration.seconds(text) else {
            throw ValidationError("--silence-after expects a duration such as 90m, 6h or 2d, got '\(text)'")
        }
        return SilenceRule(fixed: seconds)
    }
}

/// The text form of `status`.
enum StatusText {
    static func render(_ report: StatusReport) -> String {
        var lines: [String] = []
        let log = report.log
        let megabytes = Double(log.fileBytes + log.walBytes) / 1_048_576
        lines.append("database     \(report.database) (\(String(format: "%.1f", megabytes)) MiB with WAL)")
        var logLine = "event log    \(log.deliveries) \(log.deliveries == 1 ? "delivery" : "deliveries"), last seq \(log.lastSeq), \(log.quarantined) quarantined"
        if let lastAt = log.lastReceivedAt { logLine += ", last delivery \(lastAt) (\(log.lastAction ?? "?"))" }
        lines.append(logLine)
        let total = report.rejections.total
        var rejected = "rejected     \(total) signature rejection\(total == 1 ? "" : "s") (\(report.rejections.last24h) in 24 h)"
        if let lastAt = report.rejections.lastAt { rejected += ", last at \(lastAt) (\(report.rejections.lastReason ?? "?"))" }
        lines.append(rejected)
        lines.append("silent       " + (report.silent.isEmpty ? "none" : report.silent.joined(separator: ", ")))
        if !report.disabledInNexudus.isEmpty {
            lines.append("disabled     in Nexudus: " + report.disabledInNexudus.joined(separator: ", "))
        }
        lines.append("")
        lines.append(contentsOf: grid(
            [["table", "rows"]]
                + StatusReport.tableNames.compactMap { name in report.tables[name].map { [name, String($0)] } },
            rightAligned: [1]))
        lines.append("")
        lines.append(contentsOf: grid(
            [["projection", "version", "checkpoint", "lag"]]
                + report.projections.map { [$0.name, String($0.version), String($0.checkpoint), String($0.lag)] },
            rightAligned: [1, 2, 3]))
        lines.append("")
        // Projected actions never received would fill a screen; they are named on one line.
        let shown = report.actions.filter { $0.state != .never || $0.deliveries > 0 }
        let never = report.actions.filter { $0.state == .never && $0.deliveries == 0 }.map(\.action)
        if shown.isEmpty {
            lines.append("no delivery received yet")
        } else {
            lines.append(contentsOf: grid(
                [["action", "deliveries", "24h", "7d", "last webhook", "state", "silent after"]]
                    + shown.map {
                        [$0.action, String($0.deliveries), String($0.webhooks24h), String($0.webhooks7d),
                         $0.lastReceivedAt ?? "-", $0.state.rawValue,
                         "\(HumanDuration.describe($0.silenceThresholdSeconds)) (\($0.thresholdSource))"]
                    },
                rightAligned: [1, 2, 3]))
        }
        if !never.isEmpty {
            lines.append(contentsOf: wrap("never received: " + never.joined(separator: ", "), width: 100))
        }
        if !report.sync.isEmpty {
            lines.append("")
            lines.append(contentsOf: grid(
                [["sync", "last finished", "listed", "drift", "new", "changed", "deleted", "error", "fetch"]]
                    + report.sync.map {
                        [$0.kind, $0.finishedAt ?? "-", String($0.listed), String($0.drift), String($0.new),
                         String($0.changed), String($0.deleted), $0.error ?? "", $0.fetch]
                    },
                rightAligned: [2, 3, 4, 5, 6]))
        }
        let erasures = report.erasures
        if erasures.subjectsErased + erasures.pending > 0 {
            lines.append("")
            lines.append("erasures: \(erasures.subjectsErased) coworkers erased (\(erasures.deliveriesErased) deliveries rewritten), "
                + "\(erasures.pending) deleted in Nexudus not erased yet (serve --erase-deleted-after, or nexmirror forget)")
        }
        if !report.quarantine.newest.isEmpty {
            lines.append("")
            lines.append(contentsOf: grid(
                [["quarantined seq", "action", "error"]]
                    + report.quarantine.newest.map { [String($0.seq), $0.action, $0.error ?? ""] },
                rightAligned: [0]))
        }
        if let hint = report.hint {
            lines.append("")
            lines.append("hint: \(hint)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Breaks a long list after its commas, continuation lines indented.
    private static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                lines.append(line)
                line = "  "
            }
            line += (line.isEmpty || line == "  " ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
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
