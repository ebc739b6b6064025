import NexMirrorCore

/// What a backend lends `export`: the rows of one report query, read in one read-only
/// transaction with its `:name` parameters bound. Which query a report runs and what its rows
/// become is decided once, in `export`; a backend only reads.
public protocol ReportSource {
    /// The dialect the reports' SQL is written in for this backend.
    var reportDialect: SQLDialect { get }

    /// Hands each row of `sql` to `body` as cells, for the reports aggregated here.
    func forEachReportRow(_ sql: String, _ parameters: [String: SQLValue], _ body: ([Cell]) throws -> Void) async throws

    /// Writes `columns`, then each row of `sql` straight from the backend's cursor, then the end:
    /// a table report's rows are never collected nor turned into cells (the CSV hot path).
    func streamReport(
        _ sql: String, _ parameters: [String: SQLValue], columns: [String], into writer: inout some RowWriter
    ) async throws
}

extension ReportSource {
    /// `export`: the report's SQL in this backend's dialect, and the same aggregation and
    /// formatting on every backend, so a report of the same log is byte-identical.
    public func export(_ report: ReportName, filters: ReportFilters, into writer: inout some RowWriter) async throws {
        let dialect = reportDialect
        switch report {
        case .occupancy:
            var occupancy = OccupancyReport(filters: filters)
            try await forEachReportRow(OccupancyReport.sql(filters, dialect: dialect), filters.parameters) { occupancy.add(row: $0) }
            try occupancy.write(to: &writer)
        case .revenue:
            try writer.begin(columns: RevenueReport.columns)
            try await forEachReportRow(RevenueReport.sql(filters, dialect: dialect), filters.parameters) { row in
                try writer.write(RevenueReport.row(row))
            }
            try writer.end()
        case .membership:
            // The whole log's versions: who was a member before `--from` counts at its start.
            var versions = CoworkerVersions(business: filters.business)
            try await forEachReportRow(CoworkerVersions.sql, [:]) { versions.add(row: $0) }
            try MembershipReport.write(Membership.months(versions, from: filters.from, to: filters.to), to: &writer)
        default:
            guard let table = TableReport.all[report] else { throw ReportError.unknownReport(report.rawValue) }
            // The header comes from the report, so an empty report still has one.
            try await streamReport(
                table.sql(filters, dialect: dialect), filters.parameters, columns: table.columns.map(\.name), into: &writer)
        }
    }
}

extension OccupancyReport {
    /// Adds a row of `sql`: (resource_id, resource_name, from_time, to_time).
    public mutating func add(row: [Cell]) {
        guard case .integer(let resource) = row[0], case .text(let from) = row[2], case .text(let to) = row[3] else { return }
        let name: String? = if case .text(let name) = row[1] { name } else { nil }
        add(resourceId: resource, resourceName: name, from: from, to: to)
    }
}

extension RevenueReport {
    /// One output row from a row of `sql`: (month, currency_code, invoices, invoiced, paid).
    public static func row(_ row: [Cell]) throws -> [Cell] {
        guard case .integer(let invoices) = row[2], case .integer(let invoiced) = row[3], case .integer(let paid) = row[4]
        else { throw QueryError.sql("revenue: unexpected sums \(row)") }
        return Self.row(month: row[0], currency: row[1], invoices: invoices, invoiced: invoiced, paid: paid)
    }
}

extension CoworkerVersions {
    /// Adds a row of `sql`: (seq, action, received_at, body, entity_id).
    public mutating func add(row: [Cell]) {
        guard case .integer(let seq) = row[0], case .text(let action) = row[1], case .text(let receivedAt) = row[2],
            case .integer(let id) = row[4]
        else { return }
        let body: [UInt8]
        switch row[3] {
        case .blob(let data): body = [UInt8](data)
        case .text(let text): body = Array(text.utf8)
        default: return
        }
        add(seq: seq, action: action, receivedAt: receivedAt, body: body, entityId: id)
    }
}
