import GRDB
import NexMirrorCore
import NexMirrorStore

extension SQLiteReader {
    public func export(_ report: ReportName, filters: ReportFilters, into writer: inout some RowWriter) async throws {
        let arguments = StatementArguments(filters.parameters.mapValues { $0.databaseValue as (any DatabaseValueConvertible)? })
        try read { db in
            switch report {
            case .occupancy:
                var occupancy = OccupancyReport(filters: filters)
                let cursor = try Row.fetchCursor(db, sql: OccupancyReport.sql(filters), arguments: arguments)
                while let row = try cursor.next() {
                    occupancy.add(resourceId: row[0], resourceName: row[1], from: row[2], to: row[3])
                }
                try occupancy.write(to: &writer)
            case .revenue:
                try writer.begin(columns: RevenueReport.columns)
                let cursor = try Row.fetchCursor(db, sql: RevenueReport.sql(filters), arguments: arguments)
                while let row = try cursor.next() {
                    try writer.write(RevenueReport.row(
                        month: Cell(row[0] as DatabaseValue), currency: Cell(row[1] as DatabaseValue),
                        invoices: row[2], invoiced: row[3], paid: row[4]))
                }
                try writer.end()
            case .membership:
                let months = try Membership.months(db: db, from: filters.from, to: filters.to, business: filters.business)
                try MembershipReport.write(months, to: &writer)
            default:
                guard let table = TableReport.all[report] else { throw ReportError.unknownReport(report.rawValue) }
                try writer.write(db.makeStatement(sql: table.sql(filters)), arguments: arguments)
            }
        }
    }
}
