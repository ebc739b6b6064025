/// A report that lists the rows of one replica table, in a fixed column order.
public struct TableReport: Sendable {
    /// What a column selects: the table's column of that name, a field of `data`, or SQL that
    /// reads the same on every backend.
    public enum Expression: Sendable {
        case column
        case json(field: String)
        case sql(String)
    }

    public let columns: [(name: String, expression: Expression)]
    public let table: String
    /// The column `--from`/`--to` filter on.
    public let time: String
    /// The condition `--business` adds, over `:business`.
    public let business: String
    /// The text column rows sort on; `id` breaks ties.
    public let order: String

    /// The report's query in `dialect`; values stay parameters (`:from`, `:to`, `:business`).
    public func sql(_ filters: ReportFilters, dialect: SQLDialect = .sqlite) -> String {
        let select = columns.map { column in
            switch column.expression {
            case .column: column.name
            case .json(let field): "\(dialect.json(field)) AS \(column.name)"
            case .sql(let expression): "\(expression) AS \(column.name)"
            }
        }
        return "SELECT \(select.joined(separator: ", ")) FROM \(table)"
            + filters.conditions(time: dialect.text(time), business: business)
            + " ORDER BY \(dialect.ascending(order)), id"
    }

    private static func plain(_ names: String...) -> [(name: String, expression: Expression)] {
        names.map { ($0, .column) }
    }

    private static let coworkerName = [(name: "coworker_name", expression: Expression.json(field: "CoworkerFullName"))]
    private static let byMembersBusiness = "coworker_id IN (SELECT id FROM coworkers WHERE business_id = :business)"

    public static let all: [ReportName: TableReport] = [
        .members: TableReport(
            columns: plain(
                "id", "full_name", "email", "company_name", "coworker_type", "tariff_id", "tariff_name",
                "business_id", "created_on", "updated_on"),
            table: "members", time: "created_on", business: "business_id = :business", order: "full_name"),
        .bookings: TableReport(
            columns: plain("id", "resource_id", "resource_name", "coworker_id") + coworkerName
                + plain("from_time", "to_time", "tentative", "online", "invoiced", "created_on", "updated_on"),
            table: "bookings", time: "from_time", business: byMembersBusiness, order: "from_time"),
        .invoices: TableReport(
            columns: plain("id", "invoice_number", "coworker_id") + coworkerName
                + plain(
                    "business_id", "currency_code", "total_amount", "paid_amount", "status", "paid", "paid_on",
                    "due_date", "created_on", "updated_on"),
            table: "invoices", time: "created_on", business: "business_id = :business", order: "created_on"),
        .checkins: TableReport(
            columns: plain("id", "coworker_id") + coworkerName
                + plain("business_id", "from_time", "to_time", "source", "created_on", "updated_on"),
            table: "checkins", time: "from_time", business: "business_id = :business", order: "from_time"),
        .teams: TableReport(
            columns: plain("id", "name", "business_id", "paying_member_id")
                + [("members", .sql("(SELECT count(*) FROM team_members WHERE team_members.team_id = teams.id)"))]
                + plain("created_on", "updated_on"),
            table: "teams", time: "created_on", business: "business_id = :business", order: "name"),
        .proposals: TableReport(
            columns: plain("id", "reference", "coworker_id") + coworkerName
                + plain(
                    "issued_by_id", "status", "tariff_name", "price", "start_date", "expiration_date", "created_on",
                    "updated_on"),
            table: "proposals", time: "start_date", business: "issued_by_id = :business", order: "start_date"),
        .contracts: TableReport(
            columns: plain("id", "coworker_id") + coworkerName
                + plain(
                    "issued_by_id", "tariff_id", "tariff_name", "price", "start_date", "renewal_date",
                    "cancellation_date", "active", "cancelled", "created_on", "updated_on"),
            table: "contracts", time: "start_date", business: "issued_by_id = :business", order: "start_date"),
    ]
}
