/// The small account both backends' sync tests start from, so their replicas can be compared.
extension NexudusAccount {
    /// Two locations, a tariff, a resource, three coworkers, two bookings, a team.
    public func seedSample() {
        put("sys/businesses", id: 1, updatedOn: "2025-01-01T00:00:00Z", fields: [("Name", "Zürich")])
        put("sys/businesses", id: 2, updatedOn: "2025-01-01T00:00:00Z", fields: [("Name", "Basel")])
        put("billing/tariffs", id: 50, updatedOn: "2025-02-01T00:00:00Z", fields: [("Name", "Hot desk"), ("Price", Literal("150.00"))])
        put("spaces/resources", id: 70, updatedOn: "2025-02-01T00:00:00Z", fields: [("Name", "Room A"), ("BusinessId", 1)])
        for id in Int64(101)...103 { putSampleCoworker(id: id, updatedOn: "2025-03-0\(id - 100)T10:00:00Z") }
        putSampleBooking(id: 201, updatedOn: "2025-04-01T08:00:00.1234567Z")
        putSampleBooking(id: 202, updatedOn: "2025-04-02T08:00:00Z")
        put("spaces/teams", id: 301, updatedOn: "2025-05-01T00:00:00Z", fields: [
            ("Name", "Team A"), ("BusinessId", 1), ("TeamMembers", [Int64(101), 102]), ("PayingMemberId", 101),
        ])
    }

    public func putSampleCoworker(id: Int64, updatedOn: String, email: String? = nil) {
        put("spaces/coworkers", id: id, updatedOn: updatedOn, fields: [
            ("CoworkerType", 1), ("FullName", "Member \(id)"), ("Email", email ?? "member\(id)@example.com"),
            ("CompanyName", nil), ("InvoicingBusinessId", 1), ("Active", true), ("Archived", false),
            ("TariffId", 50), ("TariffName", "Hot desk"),
        ])
    }

    public func putSampleBooking(id: Int64, updatedOn: String, resource: String = "Room A") {
        put("spaces/bookings", id: id, updatedOn: updatedOn, fields: [
            ("ResourceId", 70), ("ResourceName", resource), ("CoworkerId", 101),
            ("FromTime", "2025-06-01T09:00:00Z"), ("ToTime", "2025-06-01T10:00:00Z"),
            ("Tentative", false), ("Online", false), ("Invoiced", false),
        ])
    }
}
