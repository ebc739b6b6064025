import NexMirrorCore
import NexMirrorStore
import PostgresNIO

/// `export` on PostgreSQL: the reports' own SQL in PostgreSQL's dialect, and the same neutral
/// aggregation and formatting as on SQLite, so a report of the same log is byte-identical.
extension PostgresReader {
    public func export(_ report: ReportName, filters: ReportFilters, into writer: inout some RowWriter) async throws {
        switch report {
        case .occupancy:
            var occupancy = OccupancyReport(filters: filters)
            try await readOnly(OccupancyReport.sql(filters, dialect: .postgreSQL), filters) { row in
                let row = row.map(Self.cell)
                guard case .integer(let resource) = row[0], case .text(let from) = row[2], case .text(let to) = row[3]
                else { return }
                let name: String? = if case .text(let name) = row[1] { name } else { nil }
                occupancy.add(resourceId: resource, resourceName: name, from: from, to: to)
            }
            try occupancy.write(to: &writer)
        case .revenue:
            try writer.begin(columns: RevenueReport.columns)
            try await readOnly(RevenueReport.sql(filters, dialect: .postgreSQL), filters) { row in
                let row = row.map(Self.cell)
                guard case .integer(let invoices) = row[2], case .integer(let invoiced) = row[3],
                    case .integer(let paid) = row[4]
                else { throw QueryError.sql("revenue: unexpected sums \(row)") }
                try writer.write(RevenueReport.row(
                    month: row[0], currency: row[1], invoices: invoices, invoiced: invoiced, paid: paid))
            }
            try writer.end()
        case .membership:
            var versions = CoworkerVersions(business: filters.business)
            try await readOnly(CoworkerVersions.sql, filters) { row in
                let row = row.map(Self.cell)
                guard case .integer(let seq) = row[0], case .text(let action) = row[1], case .text(let receivedAt) = row[2],
                    case .blob(let body) = row[3], case .integer(let id) = row[4]
                else { return }
                versions.add(seq: seq, action: action, receivedAt: receivedAt, body: [UInt8](body), entityId: id)
            }
            try MembershipReport.write(Membership.months(versions, from: filters.from, to: filters.to), to: &writer)
        default:
            guard let table = TableReport.all[report] else { throw ReportError.unknownReport(report.rawValue) }
            // The header comes from the report, so an empty report still has one.
            try writer.begin(columns: table.columns.map(\.name))
            var lender = PostgresRowLender()
            try await readOnly(table.sql(filters, dialect: .postgreSQL), filters) { row in
                try lender.lend(row) { try writer.write(raw: $0) }
            }
            try writer.end()
        }
    }

    /// Streams the rows of one report query, its `:name` filters bound, from a read-only
    /// transaction; rows are never collected.
    func readOnly(_ sql: String, _ filters: ReportFilters, _ body: (PostgresRow) throws -> Void) async throws {
        let (text, written) = Self.numberParameters(sql)
        var binds = PostgresBindings()
        var bound: Set<String> = []
        // Numbered in order of first use; a repeated name reuses its number.
        for name in written.compactMap({ $0?.dropFirst() }).map(String.init) where bound.insert(name).inserted {
            binds.bind(filters.parameters[name] ?? .null)
        }
        let query = PostgresQuery(unsafeSQL: text, binds: binds)
        try await withReadConnection { connection in
            try await connection.query("BEGIN TRANSACTION READ ONLY", logger: store.logger)
            do {
                for try await row in try await connection.query(query, logger: store.logger) {
                    try body(row)
                }
                try await connection.query("ROLLBACK", logger: store.logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: store.logger)
                throw error
            }
        }
    }
}
