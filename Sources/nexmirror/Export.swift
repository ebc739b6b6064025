import ArgumentParser
import Foundation
import GRDB
import NexMirrorCore
import NexMirrorSQLite
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
        get throws {
            guard let name = ReportName(rawValue: report.lowercased()) else {
                throw CLIError(
                    "unknown report '\(report)'; reports: \(ReportName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return name
        }
    }

    func run() async throws {
        let report = try reportName
        let filters = try ReportFilters(from: from, to: to, business: business)
        let (queue, replica) = try asOf.open(database)
        defer { replica?.remove() }
        let file = try output.map { try AtomicFile(replacing: $0) }
        do {
            let out = BufferedOutput(descriptor: file?.descriptor ?? STDOUT_FILENO)
            if bom { out.write(bytes: [0xEF, 0xBB, 0xBF]) }
            var writer = DelimitedWriter.csv(out)
            try ReadOnlyDatabase.read(queue) { db in try report.write(to: &writer, db: db, filters: filters) }
            try file?.commit()
        } catch {
            file?.discard()
            throw error
        }
    }
}

enum ReportName: String, CaseIterable {
    case members, bookings, invoices, checkins, teams, proposals, contracts, occupancy, revenue, membership

    func write(to writer: inout some RowWriter, db: Database, filters: ReportFilters) throws {
        switch self {
        case .occupancy: try Occupancy.write(to: &writer, db: db, filters: filters)
        case .revenue: try Revenue.write(to: &writer, db: db, filters: filters)
        case .membership: try MembershipReport.write(to: &writer, db: db, filters: filters)
        default:
            let report = TableReport.all[self]!
            try writer.write(db.makeStatement(sql: report.sql(filters)), arguments: filters.arguments)
        }
    }
}

/// `--from`, `--to` and `--business`, as canonical UTC text and an id bound as SQL parameters.
struct ReportFilters {
    /// Inclusive.
    let from: Timestamp?
    /// Exclusive.
    let to: Timestamp?
    let business: Int64?

    init(from: String?, to: String?, business: Int64?) throws {
        self.from = try from.map { text in
            try Self.parse(Self.monthStart(text) ?? text, option: "--from")
        }
        self.to = try to.map { text in
            // A month (2026-03) or a bare date includes the whole month or day.
            if let month = Self.monthStart(text, next: true) { return try Self.parse(month, option: "--to") }
            let instant = try Self.parse(text, option: "--to")
            let isBareDate = text.count == 10
            return isBareDate ? Timestamp(ticks: instant.ticks + 86_400 * Timestamp.ticksPerSecond) : instant
        }
        self.business = business
        if let start = self.from, let end = self.to, end <= start {
            throw CLIError("--to must come after --from")
        }
    }

    /// `YYYY-MM` as the date its month starts on (or the next month's, for an inclusive end).
    static func monthStart(_ text: String, next: Bool = false) -> String? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 7, parts.count == 2, parts[0].count == 4, parts[1].count == 2,
            var year = Int(parts[0]), var month = Int(parts[1]), (1...12).contains(month)
        else { return nil }
        if next {
            month += 1
            if month == 13 { (year, month) = (year + 1, 1) }
        }
        return String(format: "%04d-%02d-01", year, month)
    }

    private static func parse(_ text: String, option: String) throws -> Timestamp {
        guard let timestamp = Timestamp(parsing: text) else {
            throw CLIError(
                "\(option) expects a date (2026-03-01), a month (2026-03) or a timestamp (2026-03-01T09:00:00Z), got '\(text)'")
        }
        return timestamp
    }

    var arguments: StatementArguments {
        var values: [String: (any DatabaseValueConvertible)?] = [:]
        if let from { values["from"] = from.description }
        if let to { values["to"] = to.description }
        if let business { values["business"] = business }
        return StatementArguments(values)
    }

    /// SQL conditions over fixed column expressions; values stay parameters.
    func conditions(time: String, business businessCondition: String) -> String {
        var parts: [String] = []
        if from != nil { parts.append("\(time) >= :from") }
        if to != nil { parts.append("\(time) < :to") }
        if business != nil { parts.append(businessCondition) }
        return parts.isEmpty ? "" : " WHERE " + parts.joined(separator: " AND ")
    }
}

/// A report that lists the rows of one replica table.
struct TableReport {
    let columns: [(name: String, expression: String)]
    let table: String
    let time: String
    let business: String
    let order: String

    func sql(_ filters: ReportFilters) -> String {
        let select = columns.map { $0.expression == $0.name ? $0.name : "\($0.expression) AS \($0.name)" }
        return "SELECT \(select.joined(separator: ", ")) FROM \(table)"
            + filters.conditions(time: time, business: business) + " ORDER BY \(order)"
    }

    private static func plain(_ names: String...) -> [(name: String, expression: String)] {
        names.map { ($0, $0) }
    }

    private static let coworkerName = [(name: "coworker_name", expression: "json_extract(data, '$.CoworkerFullName')")]
    private static let byMembersBusiness = "coworker_id IN (SELECT id FROM coworkers WHERE business_id = :business)"

    static let all: [ReportName: TableReport] = [
        .members: TableReport(
            columns: plain(
                "id", "full_name", "email", "company_name", "coworker_type", "tariff_id", "tariff_name",
                "business_id", "created_on", "updated_on"),
            table: "members", time: "created_on", business: "business_id = :business", order: "full_name, id"),
        .bookings: TableReport(
            columns: plain("id", "resource_id", "resource_name", "coworker_id") + coworkerName
                + plain("from_time", "to_time", "tentative", "online", "invoiced", "created_on", "updated_on"),
            table: "bookings", time: "from_time", business: byMembersBusiness, order: "from_time, id"),
        .invoices: TableReport(
            columns: plain("id", "invoice_number", "coworker_id") + coworkerName
                + plain(
                    "business_id", "currency_code", "total_amount", "paid_amount", "status", "paid", "paid_on",
                    "due_date", "created_on", "updated_on"),
            table: "invoices", time: "created_on", business: "business_id = :business", order: "created_on, id"),
        .checkins: TableReport(
            columns: plain("id", "coworker_id") + coworkerName
                + plain("business_id", "from_time", "to_time", "source", "created_on", "updated_on"),
            table: "checkins", time: "from_time", business: "business_id = :business", order: "from_time, id"),
        .teams: TableReport(
            columns: plain("id", "name", "business_id", "paying_member_id")
                + [("members", "(SELECT count(*) FROM team_members WHERE team_members.team_id = teams.id)")]
                + plain("created_on", "updated_on"),
            table: "teams", time: "created_on", business: "business_id = :business", order: "name, id"),
        .proposals: TableReport(
            columns: plain("id", "reference", "coworker_id") + coworkerName
                + plain(
                    "issued_by_id", "status", "tariff_name", "price", "start_date", "expiration_date", "created_on",
                    "updated_on"),
            table: "proposals", time: "start_date", business: "issued_by_id = :business", order: "start_date, id"),
        .contracts: TableReport(
            columns: plain("id", "coworker_id") + coworkerName
                + plain(
                    "issued_by_id", "tariff_id", "tariff_name", "price", "start_date", "renewal_date",
                    "cancellation_date", "active", "cancelled", "created_on", "updated_on"),
            table: "contracts", time: "start_date", business: "issued_by_id = :business", order: "start_date, id"),
    ]
}

/// Booked hours per resource per UTC day. Bookings stream in; only one total per (day,
/// resource) is kept, so memory follows the size of the report, not the number of bookings.
enum Occupancy {
    static let columns = ["date", "resource_id", "resource_name", "bookings", "hours"]
    static let ticksPerDay = 86_400 * Timestamp.ticksPerSecond
    static let ticksPerHour = 3_600 * Timestamp.ticksPerSecond

    struct Key: Hashable, Comparable {
        let day: Int64
        let resourceId: Int64

        static func < (lhs: Key, rhs: Key) -> Bool { (lhs.day, lhs.resourceId) < (rhs.day, rhs.resourceId) }
    }

    struct Total {
        var resourceName: String?
        var bookings = 0
        var ticks: Int64 = 0
    }

    static func write(to writer: inout some RowWriter, db: Database, filters: ReportFilters) throws {
        var conditions = ["from_time IS NOT NULL", "to_time IS NOT NULL", "resource_id IS NOT NULL"]
        if filters.from != nil { conditions.append("to_time > :from") }
        if filters.to != nil { conditions.append("from_time < :to") }
        if filters.business != nil {
            conditions.append("coworker_id IN (SELECT id FROM coworkers WHERE business_id = :business)")
        }
        let sql = "SELECT resource_id, resource_name, from_time, to_time FROM bookings WHERE "
            + conditions.joined(separator: " AND ") + " ORDER BY from_time, id"
        var totals: [Key: Total] = [:]
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: filters.arguments)
        while let row = try cursor.next() {
            guard let start = Timestamp(parsing: row[2] as String), let end = Timestamp(parsing: row[3] as String)
            else { continue }
            let clippedStart = max(start.ticks, filters.from?.ticks ?? .min)
            let clippedEnd = min(end.ticks, filters.to?.ticks ?? .max)
            var pieceStart = clippedStart
            while pieceStart < clippedEnd {
                let day = floorDiv(pieceStart, ticksPerDay)
                let pieceEnd = min(clippedEnd, (day + 1) * ticksPerDay)
                let key = Key(day: day, resourceId: row[0])
                var total = totals[key, default: Total()]
                total.resourceName = (row[1] as String?) ?? total.resourceName
                total.bookings += 1
                total.ticks += pieceEnd - pieceStart
                totals[key] = total
                pieceStart = pieceEnd
            }
        }
        try writer.begin(columns: columns)
        for key in totals.keys.sorted() {
            let total = totals[key]!
            try writer.write([
                .text(Timestamp(ticks: key.day * ticksPerDay).dateString), .integer(key.resourceId),
                total.resourceName.map(Cell.text) ?? .null, .integer(Int64(total.bookings)),
                .decimal(hours(total.ticks)),
            ])
        }
        try writer.end()
    }

    /// Hours with two decimals, rounded half up from exact ticks (no floating point).
    static func hours(_ ticks: Int64) -> String {
        let hundredths = (ticks * 100 + ticksPerHour / 2) / ticksPerHour
        let fraction = String(hundredths % 100)
        return "\(hundredths / 100).\(fraction.count == 1 ? "0" + fraction : fraction)"
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : (a - b + 1) / b }
}

/// Invoiced and paid amounts per month and currency. Amounts are REAL in the replica; each is
/// turned into an integer count of 1/10000 before summing, so the sums are exact and print
/// without binary-float artefacts.
enum Revenue {
    static let columns = ["month", "currency_code", "invoices", "invoiced", "paid"]
    static let scale: Int64 = 10_000

    static func write(to writer: inout some RowWriter, db: Database, filters: ReportFilters) throws {
        var conditions = ["coalesce(status, '') NOT IN ('void', 'credit_note')"]
        if filters.from != nil { conditions.append("created_on >= :from") }
        if filters.to != nil { conditions.append("created_on < :to") }
        if filters.business != nil { conditions.append("business_id = :business") }
        let sql = """
            SELECT substr(created_on, 1, 7) AS month, currency_code, count(*) AS invoices,
                   coalesce(sum(CAST(round(total_amount * \(scale)) AS INTEGER)), 0) AS invoiced,
                   coalesce(sum(CAST(round(paid_amount * \(scale)) AS INTEGER)), 0) AS paid
            FROM invoices WHERE \(conditions.joined(separator: " AND "))
            GROUP BY month, currency_code ORDER BY month, currency_code
            """
        try writer.begin(columns: columns)
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: filters.arguments)
        while let row = try cursor.next() {
            try writer.write([
                Cell(row[0] as DatabaseValue), Cell(row[1] as DatabaseValue), .integer(row[2]),
                .decimal(amount(row[3])), .decimal(amount(row[4])),
            ])
        }
        try writer.end()
    }

    /// An amount in 1/10000 as decimal text with at least two decimals: 129543200 → 12954.32.
    static func amount(_ units: Int64) -> String {
        let sign = units < 0 ? "-" : ""
        let magnitude = units.magnitude
        var fraction = String(magnitude % UInt64(scale))
        fraction = String(repeating: "0", count: 4 - fraction.count) + fraction
        while fraction.count > 2, fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(sign)\(magnitude / UInt64(scale)).\(fraction)"
    }
}

/// `export membership`: members per month from the log's versions (see `Membership`).
enum MembershipReport {
    static func write(to writer: inout some RowWriter, db: Database, filters: ReportFilters) throws {
        try writer.begin(columns: ["month", "members_at_start", "joined", "left", "members_at_end"])
        for month in try Membership.months(db: db, from: filters.from, to: filters.to, business: filters.business) {
            try writer.write([
                .text(month.month), .integer(Int64(month.membersAtStart)), .integer(Int64(month.joined)),
                .integer(Int64(month.left)), .integer(Int64(month.membersAtEnd)),
            ])
        }
        try writer.end()
    }
}
