import ArgumentParser
import Foundation
import NexMirrorCore
import NexMirrorStore

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a report from the replica as CSV (RFC 4180).",
        discussion: """
            Reports: \(ReportName.allCases.map(\.rawValue).joined(separator: ", ")).

            CSV as RFC 4180 says: UTF-8, CRLF line endings, a header row, fields quoted only when \
            they hold a comma, a quote, CR or LF. Columns keep a fixed order; timestamps are the \
            replica's UTC text (2026-03-02T08:19:04.3079041Z); amounts print exactly (1608.54). \
            Rows stream from the database, so memory does not grow with the report.

            --from and --to filter on each report's date column: members and teams created_on, \
            bookings and checkins from_time, proposals and contracts start_date, invoices and \
            revenue created_on; occupancy keeps the booked time inside the range. They take a \
            date (2026-03-01) or a timestamp in any Json.NET form (2026-03-01T09:00:00+01:00, \
            read as UTC without an offset). --from is inclusive; --to is exclusive, except that a \
            bare date includes that whole day (UTC): --from 2026-03-01 --to 2026-03-31 is March. \
            A month counts whole: --from 2026-01 --to 2026-03 is January to March.

            --business ID keeps rows of one business (location): members by their invoicing \
            business, invoices, revenue, checkins and teams by business_id, proposals and \
            contracts by issued_by_id, bookings and occupancy by the booking member's business.

            occupancy: booked hours per resource per UTC day; a booking across midnight counts on \
            both days; hours with two decimals. revenue: per month of the invoice's created_on and \
            currency, invoices that are neither void nor credit notes: their count, the sum of \
            total_amount (invoiced) and of paid_amount (paid), summed exactly to 1/10000.

            membership: one row per UTC month (month, members_at_start, joined, left, \
            members_at_end) from the coworker versions in the log: a member is a coworker whose \
            version at that instant is active and not archived (a delete ends membership); late \
            versions count from their own UpdatedOn. --from/--to pick the months (default: the \
            first to the last coworker version); --business keeps members invoiced by that \
            business at that instant.

            --as-of T writes the report from the replica as it stood at T (see `query --help`).

            Examples:
              nexmirror export members --output members.csv
              nexmirror export revenue --from 2026-01-01 --to 2026-12-31 \\
                --bom --output revenue.csv
              nexmirror export occupancy --business 1376491116 \\
                --from 2026-04-01 --to 2026-04-30
              nexmirror export membership --from 2026-01-01 --to 2026-12-31
              nexmirror export members --as-of 2026-01-01
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var asOf: AsOfOptions

    @Argument(help: ArgumentHelp(
        "One of \(ReportName.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "report"))
    var report: String

    @Option(help: ArgumentHelp("Start, inclusive: a date or timestamp (UTC unless an offset is given).", valueName: "date"))
    var from: String?

    @Option(help: ArgumentHelp("End, exclusive; a bare date includes that whole day.", valueName: "date"))
    var to: String?

    @Option(help: ArgumentHelp("Only rows of this business (Nexudus business id).", valueName: "id"))
    var business: Int64?

    @Option(help: ArgumentHelp("Write to FILE atomically instead of standard output.", valueName: "file"))
    var output: String?

    @Flag(help: "Start with a UTF-8 byte order mark, for spreadsheet apps that need one to read UTF-8.")
    var bom = false

    func validate() throws {
        _ = try reportName
        _ = try ReportFilters(from: from, to: to, business: business)
        _ = try asOf.instant
    }

    private var reportName: ReportName {
        get throws { try ReportName(named: report) }
    }

    func run() async throws {
        let report = try reportName
        let filters = try ReportFilters(from: from, to: to, business: business)
        let reader = try await database.openLogReader(asOf: try asOf.instant)
        await CompactionNote.forAsOf(database, instant: try asOf.instant)
        let file = try output.map { try AtomicFile(replacing: $0) }
        do {
            let out = BufferedOutput(descriptor: file?.descriptor ?? STDOUT_FILENO)
            if bom { out.write(bytes: [0xEF, 0xBB, 0xBF]) }
            var writer = DelimitedWriter.csv(out)
            try await reader.export(report, filters: filters, into: &writer)
            try file?.commit()
        } catch {
            file?.discard()
            throw error
        }
    }
}
