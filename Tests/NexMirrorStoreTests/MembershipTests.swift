import NexMirrorCore
import NexMirrorStore
import Testing

/// Members per month from coworker versions, without a database.
@Suite struct MembershipReplayTests {
    static func body(_ updatedOn: String, active: Bool, business: Int = 1) -> [UInt8] {
        Array(#"[{"Id":9,"UpdatedOn":"\#(updatedOn)","Active":\#(active),"Archived":false,"InvoicingBusinessId":\#(business)}]"#.utf8)
    }

    @Test func aMemberJoinsAndLeavesInTheMonthsOfTheirVersions() throws {
        var versions = CoworkerVersions(business: nil)
        versions.add(seq: 1, action: "CoworkerCreate", receivedAt: "2026-01-10T00:00:00.0000000Z",
                     body: Self.body("2026-01-10T00:00:00Z", active: true), entityId: 9)
        // Arrives late, but counts from its own UpdatedOn; its older seq does not matter.
        versions.add(seq: 3, action: "CoworkerUpdate", receivedAt: "2026-03-30T00:00:00.0000000Z",
                     body: Self.body("2026-03-05T00:00:00Z", active: false), entityId: 9)
        versions.add(seq: 2, action: "CoworkerUpdate", receivedAt: "2026-02-01T00:00:00.0000000Z",
                     body: Self.body("2026-02-01T00:00:00Z", active: true, business: 2), entityId: 9)
        let months = Membership.months(versions)
        #expect(months.map(\.month) == ["2026-01", "2026-02", "2026-03"])
        #expect(months.map(\.joined) == [1, 0, 0])
        #expect(months.map(\.left) == [0, 0, 1])
        #expect(months.map(\.membersAtEnd) == [1, 1, 0])

        var writer = Collected()
        try MembershipReport.write(months, to: &writer)
        #expect(writer.columns == MembershipReport.columns)
        #expect(writer.rows.first == [.text("2026-01"), .integer(0), .integer(1), .integer(0), .integer(1)])
    }
}
