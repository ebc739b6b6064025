/// Invoiced and paid amounts per month and currency. Amounts are REAL in the replica; each is
/// turned into an integer count of 1/10000 before summing, so the sums are exact and print
/// without binary-float artefacts.
public enum RevenueReport {
    public static let columns = ["month", "currency_code", "invoices", "invoiced", "paid"]
    public static let scale: Int64 = 10_000

    /// Rows of (month, currency_code, invoices, invoiced, paid), amounts in 1/10000 as integers.
    public static func sql(_ filters: ReportFilters, dialect: SQLDialect = .sqlite) -> String {
        var conditions = ["coalesce(status, '') NOT IN ('void', 'credit_note')"]
        if filters.from != nil { conditions.append("\(dialect.text("created_on")) >= :from") }
        if filters.to != nil { conditions.append("\(dialect.text("created_on")) < :to") }
        if filters.business != nil { conditions.append("business_id = :business") }
        // PostgreSQL's amounts are numeric and its sum of bigints is numeric: cast back to bigint.
        let units = { (column: String) in
            switch dialect {
            case .sqlite: "coalesce(sum(CAST(round(\(column) * \(scale)) AS INTEGER)), 0)"
            case .postgreSQL: "coalesce(sum(round(\(column) * \(scale))::bigint), 0)::bigint"
            }
        }
        return """
            SELECT substr(created_on, 1, 7) AS month, currency_code, count(*) AS invoices,
                   \(units("total_amount")) AS invoiced, \(units("paid_amount")) AS paid
            FROM invoices WHERE \(conditions.joined(separator: " AND "))
            GROUP BY month, currency_code
            ORDER BY \(dialect.ascending("substr(created_on, 1, 7)")), \(dialect.ascending("currency_code"))
            """
    }

    /// One output row from a store's row of `sql`.
    public static func row(month: Cell, currency: Cell, invoices: Int64, invoiced: Int64, paid: Int64) -> [Cell] {
        [month, currency, .integer(invoices), .decimal(amount(invoiced)), .decimal(amount(paid))]
    }

    /// An amount in 1/10000 as decimal text with at least two decimals: 129543200 → 12954.32.
    public static func amount(_ units: Int64) -> String {
        let sign = units < 0 ? "-" : ""
        let magnitude = units.magnitude
        var fraction = String(magnitude % UInt64(scale))
        fraction = String(repeating: "0", count: 4 - fraction.count) + fraction
        while fraction.count > 2, fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(sign)\(magnitude / UInt64(scale)).\(fraction)"
    }
}
