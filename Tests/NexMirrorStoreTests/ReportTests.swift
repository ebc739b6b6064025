import NexMirrorCore
import NexMirrorStore
import Testing

/// Collects what a report writes.
struct Collected: RowWriter {
    var columns: [String] = []
    var rows: [[Cell]] = []
    mutating func begin(columns: [String]) throws { self.columns = columns }
    mutating func write(_ row: [Cell]) throws { rows.append(row) }
    mutating func end() throws {}
}

@Suite struct ReportTests {
    @Test func reportNamesAreReadInAnyCase() throws {
        #expect(try ReportName(named: "Revenue") == .revenue)
        #expect(throws: ReportError.unknownReport("sales")) { try ReportName(named: "sales") }
        #expect(ReportError.unknownReport("sales").description.hasPrefix("unknown report 'sales'; reports: members, "))
    }

    @Test func aBareDateOrAMonthAsToIncludesTheWholeDayOrMonth() throws {
        let day = try ReportFilters(from: "2026-03-01", to: "2026-03-31", business: nil)
        #expect(day.from?.description == "2026-03-01T00:00:00.0000000Z")
        #expect(day.to?.description == "2026-04-01T00:00:00.0000000Z")
        let months = try ReportFilters(from: "2026-01", to: "2026-12", business: 7)
        #expect(months.to?.description == "2027-01-01T00:00:00.0000000Z")
        #expect(months.parameters == [
            "from": .text("2026-01-01T00:00:00.0000000Z"), "to": .text("2027-01-01T00:00:00.0000000Z"),
            "business": .integer(7),
        ])
        #expect(throws: ReportError.toBeforeFrom) { try ReportFilters(from: "2026-03-02", to: "2026-03-01T12:00:00Z", business: nil) }
        #expect(throws: ReportError.badTime(option: "--from", text: "March")) {
            try ReportFilters(from: "March", to: nil, business: nil)
        }
    }

    @Test func occupancySplitsBookingsAtMidnightAndClipsToTheRange() throws {
        var report = OccupancyReport(filters: try ReportFilters(from: "2026-03-01", to: "2026-03-02", business: nil))
        report.add(resourceId: 5, resourceName: "Room", from: "2026-03-01T22:00:00Z", to: "2026-03-02T01:30:00Z")
        report.add(resourceId: 5, resourceName: nil, from: "2026-02-28T23:00:00Z", to: "2026-03-01T00:20:00Z")
        report.add(resourceId: 4, resourceName: "Desk", from: "2026-03-01T09:00:00Z", to: "2026-03-01T09:00:01Z")
        var writer = Collected()
        try report.write(to: &writer)
        #expect(writer.columns == OccupancyReport.columns)
        #expect(writer.rows == [
            [.text("2026-03-01"), .integer(4), .text("Desk"), .integer(1), .decimal("0.00")],
            [.text("2026-03-01"), .integer(5), .text("Room"), .integer(2), .decimal("2.33")],
            [.text("2026-03-02"), .integer(5), .text("Room"), .integer(1), .decimal("1.50")],
        ])
    }

    @Test func revenueAmountsPrintExactly() {
        #expect(RevenueReport.amount(129_543_200) == "12954.32")
        #expect(RevenueReport.amount(5) == "0.0005")
        #expect(RevenueReport.amount(-10_000) == "-1.00")
    }
}
