import NexMirrorCore
import NexMirrorStore

/// The dashboard at `GET /`: one server-rendered page, readable with JavaScript off, with no
/// external assets (inline CSS and SVG), refreshed by a meta refresh. It shows counts, times,
/// action names and errors only: no member data, no bodies, no secrets.
enum Dashboard {
    static let refreshSeconds = 30

    static func render(_ report: StatusReport) -> String {
        var html = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="refresh" content="\(refreshSeconds)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>nexmirror — \(report.problems.isEmpty ? "ok" : "\(report.problems.count) problem\(report.problems.count == 1 ? "" : "s")")</title>
            <style>\(style)</style>
            </head>
            <body>
            <header><h1>nexmirror</h1><p>\(escape(report.database)) · generated \(escape(report.generatedAt)) · refreshes every \(refreshSeconds) s</p></header>

            """
        html += section("problems", "Problems") {
            if report.problems.isEmpty { return "<p class=\"good\">No problem: nothing silent, nothing disabled, no lag, no recent quarantine or rejection.</p>" }
            return "<ul class=\"problems\">" + report.problems.map { "<li>\(escape($0))</li>" }.joined() + "</ul>"
        }
        html += section("chart", "Webhook deliveries per hour, last 7 days") { chart(report.hourly) }
        html += section("actions", "Actions") {
            table(
                ["action", "id", "projection", "24 h", "7 d", "last received", "state", "silent after"],
                numeric: [1, 3, 4],
                report.actions.map { action in
                    [escape(action.action), String(action.actionId), escape(action.projection),
                     String(action.webhooks24h), String(action.webhooks7d), escape(action.lastReceivedAt ?? "—"),
                     "<span class=\"state \(action.state.rawValue.replacingOccurrences(of: " ", with: "-"))\">\(escape(action.state.rawValue))</span>",
                     escape("\(HumanDuration.describe(action.silenceThresholdSeconds)) (\(action.thresholdSource))")]
                })
        }
        html += section("rejections", "Signature rejections") {
            let r = report.rejections
            var text = "<p><b>\(r.last24h)</b> in the last 24 h; \(r.total) ever (the last \(r.kept) kept)"
            if let lastAt = r.lastAt { text += "; last at \(escape(lastAt)) (\(escape(r.lastReason ?? "?")))" }
            text += ".</p>"
            if let hint = report.hint { text += "<p class=\"hint\">Wrong secret? \(escape(hint))</p>" }
            return text
        }
        html += section("quarantine", "Quarantined deliveries") {
            let q = report.quarantine
            var text = "<p><b>\(q.total)</b> quarantined, \(q.last24h) in the last 24 h. They are kept in the log, not folded: <code>nexmirror events --quarantined</code>.</p>"
            if !q.newest.isEmpty {
                text += table(
                    ["seq", "action", "received", "error"], numeric: [0],
                    q.newest.map { [String($0.seq), escape($0.action), escape($0.receivedAt), escape($0.error ?? "")] })
            }
            return text
        }
        html += section("projections", "Projections") {
            table(
                ["projection", "version", "checkpoint", "lag"], numeric: [1, 2, 3],
                report.projections.map { [escape($0.name), String($0.version), String($0.checkpoint), String($0.lag)] })
        }
        html += section("log", "Event log") {
            let log = report.log
            let megabytes = Double(log.fileBytes + log.walBytes) / 1_048_576
            return "<p><b>\(log.deliveries)</b> deliveries, last seq \(log.lastSeq), "
                + "\((megabytes * 10).rounded() / 10) MiB on disk (file and WAL).</p>"
        }
        html += section("sync", "Last sync and drift") {
            if report.sync.isEmpty { return "<p>No sync yet (<code>nexmirror sync</code>).</p>" }
            return table(
                ["kind", "last finished", "listed", "drift", "new", "changed", "deleted", "error", "fetch"],
                numeric: [2, 3, 4, 5, 6],
                report.sync.map {
                    [escape($0.kind), escape($0.finishedAt ?? "—"), String($0.listed), String($0.drift), String($0.new),
                     String($0.changed), String($0.deleted), escape($0.error ?? ""), escape($0.fetch)]
                })
        }
        html += section("erasures", "Data protection") {
            let erasures = report.erasures
            return "<p><b>\(erasures.subjectsErased)</b> coworkers erased (\(erasures.deliveriesErased) deliveries rewritten); "
                + "<b>\(erasures.pending)</b> deleted in Nexudus and not erased yet.</p>"
        }
        html += "</body>\n</html>\n"
        return html
    }

    private static func section(_ id: String, _ title: String, _ content: () -> String) -> String {
        "<section id=\"\(id)\"><h2>\(escape(title))</h2>\n\(content())\n</section>\n"
    }

    private static func table(_ header: [String], numeric: Set<Int>, _ rows: [[String]]) -> String {
        func cells(_ row: [String], tag: String) -> String {
            row.enumerated().map { index, cell in
                numeric.contains(index) ? "<\(tag) class=\"n\">\(cell)</\(tag)>" : "<\(tag)>\(cell)</\(tag)>"
            }.joined()
        }
        return "<table><thead><tr>\(cells(header.map(escape), tag: "th"))</tr></thead><tbody>"
            + rows.map { "<tr>\(cells($0, tag: "td"))</tr>" }.joined(separator: "\n") + "</tbody></table>"
    }

    /// Deliveries per hour as an inline SVG bar chart, one bar per hour, day boundaries marked.
    static func chart(_ hours: [StatusReport.HourBucket]) -> String {
        let barWidth = 5, height = 120, top = 14, bottom = 18
        let width = hours.count * barWidth
        let peak = max(hours.map(\.deliveries).max() ?? 0, 1)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 \(width + 40) \(height + top + bottom)\" "
            + "width=\"100%\" aria-label=\"webhook deliveries per hour over the last 7 days, peak \(peak) per hour\">"
        svg += "<text x=\"0\" y=\"10\" class=\"axis\">\(peak)/h</text>"
        svg += "<line x1=\"0\" y1=\"\(top + height)\" x2=\"\(width)\" y2=\"\(top + height)\" class=\"base\"/>"
        for (index, hour) in hours.enumerated() {
            let x = index * barWidth
            if hour.hour.dropFirst(11).hasPrefix("00") {
                svg += "<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(top + height)\" class=\"day\"/>"
                svg += "<text x=\"\(x + 2)\" y=\"\(top + height + 13)\" class=\"axis\">\(hour.hour.prefix(10))</text>"
            }
            let barHeight = hour.deliveries == 0 ? 0 : max(1, hour.deliveries * height / peak)
            svg += "<rect class=\"bar\" x=\"\(x)\" y=\"\(top + height - barHeight)\" width=\"\(barWidth - 1)\" height=\"\(barHeight)\">"
                + "<title>\(hour.hour.prefix(13)):00Z — \(hour.deliveries)</title></rect>"
        }
        return svg + "</svg>"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
        header h1{margin:0;font-size:1.5em}header p{margin:.2em 0 1em;color:#666}
        h2{font-size:1.1em;margin:1.4em 0 .4em;border-bottom:1px solid #ddd}
        table{border-collapse:collapse}th,td{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}
        th{background:#f6f6f6}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
        .state{padding:0 6px;border-radius:3px}.ok{background:#d9f2dc}.silent{background:#ffd5d0;font-weight:bold}
        .never{color:#888}.disabled-in-Nexudus{background:#ffd5d0;font-weight:bold}
        ul.problems li{color:#a40000}.good{color:#1b6e2a}.hint{background:#fff4d0;padding:4px}
        svg .bar{fill:#3b7dd8}svg .day{stroke:#ccc}svg .base{stroke:#999}svg .axis{font-size:10px;fill:#666}
        code{background:#f3f3f3;padding:0 3px}
        """
}
