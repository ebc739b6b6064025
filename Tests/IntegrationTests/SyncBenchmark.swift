import Foundation
import NexudusStandIn
import Testing

/// The 100k-record sync for BENCHMARKS.md (`scripts/bench-sync`); skipped unless
/// NEXMIRROR_SYNC_BENCH gives the number of records. NEXMIRROR_SYNC_BENCH_MODE picks the run:
/// `reconcile` (default: a mirror that webhooks kept all but 0.5% current), `backfill` (a first
/// sync of an empty mirror, full records in batches) or `backfill-single` (the same with the
/// batch form refused, so every record is one `GET …/{id}`).
@Suite struct SyncBenchmark {
    static let records = ProcessInfo.processInfo.environment["NEXMIRROR_SYNC_BENCH"].flatMap { Int($0) }
    static let mode = ProcessInfo.processInfo.environment["NEXMIRROR_SYNC_BENCH_MODE"] ?? "reconcile"

    @Test(.enabled(if: records != nil)) func syncOfALargeAccount() async throws {
        let total = Self.records!
        let backfill = Self.mode.hasPrefix("backfill")
        let mirror = try await SyncMirror.start(seed: false)
        let account = mirror.account
        if Self.mode == "backfill-single" { account.serveBatches(.refused) }
        // The mix of a busy space: 10% coworkers, 70% bookings, 20% invoices.
        let kinds: [(path: String, action: String, share: Double)] = [
            ("spaces/coworkers", "CoworkerUpdate", 0.1), ("spaces/bookings", "BookingUpdate", 0.7),
            ("billing/coworkerinvoices", "CoworkerInvoiceUpdate", 0.2),
        ]
        var lines: [String] = []
        var id: Int64 = 1_000_000
        for kind in kinds {
            for _ in 0..<Int(Double(total) * kind.share) {
                id += 1
                account.put(kind.path, id: id, updatedOn: "2025-01-01T00:00:00Z", fields: [
                    ("CoworkerId", 1_000_001), ("FullName", "Member \(id)"), ("Email", "m\(id)@example.com"),
                    ("ResourceName", "Room"), ("FromTime", "2025-06-01T09:00:00Z"), ("TotalAmount", Literal("120.00")),
                ])
                // Webhooks delivered all but 0.5% of records (the "new" drift).
                if !backfill && id % 200 != 0 {
                    let body = String(decoding: account.webhookBody(kind.path, id: id)!, as: UTF8.self)
                    lines.append("{\"action\":\"\(kind.action)\",\"body\":\(body)}")
                }
            }
        }
        var changed = 0, deleted = 0, new = total
        if !backfill {
            let file = mirror.scratch.path("webhooks.jsonl")
            try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: file))
            let imported = try await mirror.run(["import", file])
            #expect(imported.status == 0, "\(imported.stderr)")
            // While webhooks were disabled: 0.5% changed, 0.1% deleted.
            for kind in kinds {
                for recordId in account.ids(kind.path) {
                    if recordId % 200 == 7 {
                        account.put(kind.path, id: recordId, updatedOn: "2025-09-01T00:00:00Z", fields: [("FullName", "Changed")])
                        changed += 1
                    } else if recordId % 1000 == 13 {
                        account.delete(kind.path, id: recordId)
                        deleted += 1
                    }
                }
            }
            new = lines.isEmpty ? 0 : (1_000_001...id).filter { $0 % 200 == 0 }.count
        }
        let pages = kinds.map { (account.ids($0.path).count + 999) / 1000 }.reduce(0, +)
        let rate = ProcessInfo.processInfo.environment["NEXMIRROR_SYNC_BENCH_RPM"] ?? "600"
        let arguments = ["sync", "--entity", "coworkers", "--entity", "bookings", "--entity", "invoices", "--requests-per-minute", rate]
        // What the dry run says the sync will make, against what it made.
        let dry = try await mirror.run(arguments + ["--dry-run"])
        let dryRequests = account.requests.count
        let started = Date()
        let result = try await mirror.run(arguments)
        let seconds = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result.stderr)")
        let requests = account.requests.count - dryRequests
        // Single GETs would take one request per record fetched or checked: the old figure.
        let single = pages + (backfill ? total : new + changed + deleted) + 1  // + one token grant
        let batches = account.requests.dropFirst(dryRequests).filter { $0.path.contains("?id=[") }.count
        let report = """
            mode \(Self.mode), records \(total): pages \(pages), new \(new), changed \(changed), deleted \(deleted)
            requests \(requests) (batches \(batches)); with a single GET per record \(single)
            wall \(String(format: "%.1f", seconds)) s at \(rate)/min
            dry run: \(dry.output.split(separator: "\n").last ?? "")
            \(result.output)
            """
        print(report)
        if let out = ProcessInfo.processInfo.environment["NEXMIRROR_SYNC_BENCH_OUT"] {
            try Data(report.utf8).write(to: URL(fileURLWithPath: out))
        }
    }
}
