import Foundation
import NexudusFixtures
import Testing

/// `forget` on PostgreSQL (SPEC §10): the erased values leave every table, shown by a `pg_dump`
/// of the whole database (bytea bodies decoded from their hex), reports keep their numbers, and
/// the subject stays erased.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresForgetTests {
    /// The values found in a plain `pg_dump`, as text or inside a hex-encoded bytea value.
    static func valuesDumped(_ values: [String], _ url: String) throws -> [String] {
        let dump = try PostgresCluster.shell(["pg_dump", url])
        try #require(dump.status == 0, "pg_dump: \(dump.stderr)")
        let text = dump.output
        let hex = text.components(separatedBy: "\\x").dropFirst().compactMap { Self.bytes($0) }
        return values.filter { value in
            text.contains(value) || hex.contains { $0.range(of: Data(value.utf8)) != nil }
        }
    }

    private static func bytes(_ hexPrefix: String) -> Data? {
        var data = Data()
        var high: UInt8?
        for character in hexPrefix.utf8 {
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character - UInt8(ascii: "a") + 10
            default: return data.isEmpty ? nil : data
            }
            if let first = high {
                data.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return data
    }

    static func reports(_ url: String) async throws -> [String] {
        var outputs: [String] = []
        for report in ["revenue", "occupancy", "membership"] {
            let result = try await CLI.run(["export", report, "--db", url])
            #expect(result.status == 0, "\(report): \(result.stderr)")
            outputs.append(result.output)
        }
        return outputs
    }

    @Test func forgetLeavesNothingInADumpAndKeepsTheNumbers() async throws {
        let url = try PostgresCluster.makeDatabase()
        let scratch = Scratch()
        let deliveries = scratch.path("all.jsonl")
        try NexudusFixtures.importLines().write(to: URL(fileURLWithPath: deliveries))
        #expect(try await CLI.run(["import", "--db", url, deliveries]).status == 0)
        #expect(try Self.valuesDumped(NexudusFixtures.renValues, url) == NexudusFixtures.renValues, "the search finds them before")
        let before = try await Self.reports(url)

        let forget = try await CLI.run(["forget", "coworker", String(NexudusFixtures.renId), "--reason", "request 9", "--db", url])
        #expect(forget.status == 0, "\(forget.stderr)")
        #expect(forget.output.contains("rewrote 16 deliveries (Booking 2, Checkin 3, Coworker 2, CoworkerInvoice 4, Proposal 2, Team 3)"), "\(forget.output)")
        #expect(try Self.valuesDumped(NexudusFixtures.renValues, url) == [])
        #expect(try Self.valuesDumped(NexudusFixtures.joseValues, url) == NexudusFixtures.joseValues)
        #expect(try await Self.reports(url) == before)

        // Retries stay duplicates; a late update is stored erased.
        let retry = try await CLI.run(["import", "--db", url, deliveries])
        #expect(retry.output.contains("0 appended (0 quarantined), 31 duplicates"), "\(retry.output)")
        let late = scratch.path("late.jsonl")
        try NexudusFixtures.importLines(["CoworkerCreate"]) { $0.replacingOccurrences(of: "2026-03-02T08:0", with: "2026-05-02T08:0") }
            .write(to: URL(fileURLWithPath: late))
        let appended = try await CLI.run(["import", "--db", url, late])
        #expect(appended.output.contains("1 appended"), "\(appended.output)")
        #expect(try Self.valuesDumped(NexudusFixtures.renValues, url) == [])
        #expect(try PostgresCluster.psql(url, "SELECT coalesce(full_name, '-'), active FROM coworkers WHERE id = \(NexudusFixtures.renId)") == "-|1")

        let check = try await CLI.run(["check", "--db", url])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("erased (not a finding): 17 deliveries"), "\(check.output)")
        let replica = try PostgresCluster.psql(url, "SELECT id, full_name, email, data FROM coworkers ORDER BY id")
        #expect(try await CLI.run(["rebuild", "--db", url]).status == 0)
        #expect(try PostgresCluster.psql(url, "SELECT id, full_name, email, data FROM coworkers ORDER BY id") == replica)
        let ledger = try await CLI.run(["forget", "--ledger", "--format", "csv", "--db", url])
        #expect(ledger.output.contains("1419000582,") && ledger.output.contains(",request 9,forget"), "\(ledger.output)")
    }
}
