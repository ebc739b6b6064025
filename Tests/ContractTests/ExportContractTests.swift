import Foundation
import NexMirrorStore
import NexudusFixtures
import Testing

/// Every `export` report, under several filter sets, byte-identical on both backends for the
/// same log (SPEC §6).
@Suite struct ExportContractTests {
    static let reports = ReportName.allCases.map(\.rawValue)
    static let filters: [[String]] = [
        [],
        ["--from", "2026-03-15", "--to", "2026-04-10"],
        ["--from", "2026-03"],
        ["--business", "1376491116"],
        ["--business", "1420976475", "--to", "2026-04-30T12:00:00Z"],
        ["--bom", "--to", "2026-03-02T08:30:00+01:00"],
    ]

    /// Three logs: every fixture (its deletes empty checkins and teams), every fixture but the
    /// deletes (a row in every report), and the fixtures with a generated history of creates,
    /// updates and deletes in every date form on top.
    static let logs: [(name: String, lines: [String])] = [
        ("fixtures", ContractLogs.fixtures()),
        ("fixtures without deletes", ContractLogs.fixtures(withoutDeletes: true)),
        ("fixtures and a generated history", ContractLogs.fixtures() + ContractLogs.generated()),
    ]

    @Test(arguments: Backend.all)
    func everyReportIsByteIdenticalOnBothBackends(backend: Backend) async throws {
        for log in Self.logs {
            let database = try backend.makeDatabase()
            try await database.importLines(log.lines)
            for report in Self.reports {
                for filter in Self.filters {
                    let arguments = ["export", report] + filter
                    let result = try await database.run(arguments)
                    #expect(result.status == 0, "\(log.name) \(arguments): \(result.stderr)")
                    CrossBackend.expectSame("\(log.name) \(arguments)", result.stdout, on: backend)
                    if filter.isEmpty, log.name == "fixtures without deletes" {
                        // A header alone would prove little.
                        #expect(result.output.split(separator: "\r\n").count > 1, "\(report)")
                    }
                }
            }
            // --output writes the same bytes to a file.
            let file = database.scratch.path("revenue.csv")
            let written = try await database.run(["export", "revenue", "--output", file])
            #expect(written.status == 0, "\(written.stderr)")
            let standardOutput = try await database.run(["export", "revenue"])
            #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == standardOutput.stdout)
        }
    }
}
