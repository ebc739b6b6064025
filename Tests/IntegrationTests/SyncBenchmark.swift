import Foundation
import NexudusStandIn
import Testing

/// The 100k-record reconcile for BENCHMARKS.md (`scripts/bench-sync`); skipped unless
/// NEXMIRROR_SYNC_BENCH gives the number of records.
@Suite struct SyncBenchmark {
    static let records = ProcessInfo.processInfo.environment["NEXMIRROR_SYNC_BENCH"].flatMap { Int($0) }

    @Test(.enabled(if: records != nil)) func reconcileOfALargeAccount() async throws {
        let total = Self.records!
        let mirror = try await SyncMirror.start(seed: false)
        let account = mirror.account
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
                if id % 200 != 0 {
                    let body = String(decoding: account.webhookBody(kind.path, id: id)!, as: UTF8.self)
                    lines.append("{\"action\":\"\(kind.action)\",\"body\":\(body)}")
                }
            }
        }
        let file = mirror.scratch.path("webhooks.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: file))
        let imported = try await mirror.run(["import", file])
        #expect(imported.status == 0, "\(imported.stderr)")
        // While webhooks were disabled: 0.5% changed, 0.1% deleted.
        var changed = 0, deleted = 0
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
        let new = lines.isEmpty ? 0 : (1_000_001...id).filter { $0 % 200 == 0 }.count
        let pages = kinds.map { (account.ids($0.path).count + 999) / 1000 }.reduce(0, +)
        let minimum = pages + new + changed + deleted + 1  // + one token grant

        let rate = ProcessInfo.processInfo.environment["NEXMIRROR_SYNC_BENCH_RPM"] ?? "600"
        let started = Date()
        let result = try await mirror.run([
            "sync", "--entity", "coworkers", "--entity", "bookings", "--entity", "invoices", "--requests-per-minute", rate,
        ])
        let seconds = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result.stderr)")
        let requests = account.requests.count
        #expect(requests == minimum)
        let polite = Double(requests) / 2  // at the default 120 requests a minute
        let fullBackfill = Double(pages + total + 1) / 2
        let report = """
            records \(total): pages \(pages), new \(new), changed \(changed), deleted \(deleted)
            requests \(requests), minimum \(minimum)
            wall \(String(format: "%.1f", seconds)) s at \(rate)/min; at the default 120/min: \(String(format: "%.0f", polite)) s
            full backfill of an empty mirror at 120/min: \(String(format: "%.0f", fullBackfill)) s (\(String(format: "%.1f", fullBackfill / 3600)) h)
            \(result.output)
            """
        print(report)
        if let out = ProcessInfo.processInfo.environment["NEXMIRROR_SYNC_BENCH_OUT"] {
            try Data(report.utf8).write(to: URL(fileURLWithPath: out))
        }
    }
}
