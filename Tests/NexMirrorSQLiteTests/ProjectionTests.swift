import Foundation
import GRDB
import NexMirrorCore
import NexMirrorProjections
import Testing
import NexMirrorStore
@testable import NexMirrorSQLite

/// Each fixture folded on its own: the typed columns hold what the DTO says.
@Suite struct ProjectionColumnTests {
    private func folded(_ names: String...) async throws -> TemporaryStore {
        let temporary = try TemporaryStore()
        try await temporary.append(names.map(StoreFixtures.delivery))
        try await temporary.foldAll()
        return temporary
    }

    @Test func coworkerColumns() async throws {
        let temporary = try await folded("CoworkerCreate")
        let row = try #require(try temporary.rows("SELECT * FROM coworkers").first)
        #expect(row["id"] as Int64 == 1_419_000_582)
        #expect(row["unique_id"] as String == "22add219-94dd-540c-9afd-b5737f4b039f")
        #expect(row["created_on"] as String == "2026-03-02T08:00:21.3156269Z")
        #expect(row["updated_on"] as String == "2026-03-02T08:00:21.3156269Z")
        #expect(row["full_name"] as String == "Ren Kowalski")
        #expect(row["email"] as String == "m1419000582@example.org")
        #expect(row["company_name"] as String == "Acme Ltd")
        #expect(row["coworker_type"] as String == "individual")
        #expect(row["active"] as Int == 1)
        #expect(row["archived"] as Int == 0)
        #expect(row["tariff_id"] as Int64 == 1_400_000_003)
        #expect(row["tariff_name"] as String == "Virtual office")
        #expect(row["business_id"] as Int64 == 1_420_976_475)
        #expect(row["data"] as String == String(decoding: StoreFixtures.body("CoworkerCreate").dropFirst().dropLast(), as: UTF8.self))
        let members: Int? = try temporary.value("SELECT count(*) FROM members")
        #expect(members == 1)
    }

    @Test func nonASCIIAndEmojiSurviveIntoTheReplica() async throws {
        let temporary = try await folded("emoji-name")
        let name: String? = try temporary.value("SELECT full_name FROM coworkers")
        #expect(name == "José Brown 😀")
        let company: DatabaseValue? = try temporary.value("SELECT company_name FROM coworkers")
        #expect(company == .null)
    }

    @Test func bookingColumns() async throws {
        let temporary = try await folded("BookingCreate")
        let row = try #require(try temporary.rows("SELECT * FROM bookings").first)
        #expect(row["id"] as Int64 == 1_419_005_644)
        #expect(row["coworker_id"] as Int64 == 1_419_000_582)
        #expect(row["resource_id"] as Int64 == 1_414_925_000)
        #expect(row["resource_name"] as String == "Small meeting room (120)")
        #expect(row["from_time"] as String == "2026-04-14T15:30:00.0000000Z")
        #expect(row["to_time"] as String == "2026-04-14T17:00:00.0000000Z")
        #expect(row["tentative"] as Int == 0)
        #expect(row["online"] as Int == 1)
        #expect(row["invoiced"] as Int == 0)
    }

    @Test func invoiceColumnsAndStatus() async throws {
        let temporary = try await folded("CoworkerInvoicePaid", "CoworkerInvoiceCreate", "CoworkerInvoiceRefund")
        let paid = try #require(try temporary.rows("SELECT * FROM invoices WHERE id = 1419044866").first)
        #expect(paid["coworker_id"] as Int64 == 1_419_000_582)
        #expect(paid["business_id"] as Int64 == 1_420_976_475)
        #expect(paid["invoice_number"] as String == "C29-INV-2026.03-44866")
        #expect(paid["currency_code"] as String == "GBP")
        #expect(paid["total_amount"] as Double == 1608.54)
        #expect(paid["paid_amount"] as Double == 1608.54)
        #expect(paid["paid"] as Int == 1)
        #expect(paid["paid_on"] as String == "2026-03-02T08:34:33.0543335Z")
        #expect(paid["due_date"] as String == "2026-03-12T00:00:00.0000000Z")
        #expect(paid["status"] as String == "paid")
        let statuses = try temporary.rows("SELECT id, status FROM invoices ORDER BY id").map { $0["status"] as String }
        #expect(statuses == ["awaiting_payment", "paid", "refunded"])
        let history = try temporary.rows("SELECT invoice_id, action, occurred_at FROM invoice_events ORDER BY seq")
        #expect(history.count == 3)
        #expect(history[0]["action"] as String == "CoworkerInvoicePaid")
        #expect(history[2]["occurred_at"] as String == "2026-03-02T11:14:32.0295940Z")
    }

    @Test func teamAndItsMembers() async throws {
        let temporary = try await folded("TeamCreated", "TeamUpdated")
        let row = try #require(try temporary.rows("SELECT * FROM teams").first)
        #expect(row["name"] as String == "Team Kowalski")
        #expect(row["business_id"] as Int64 == 1_376_491_116)
        #expect(row["paying_member_id"] as Int64 == 1_419_000_582)
        let members = try temporary.rows("SELECT coworker_id FROM team_members WHERE team_id = 1419021592 ORDER BY coworker_id")
        #expect(members.map { $0[0] as Int64 } == [1_419_000_582, 1_419_009_389])
    }

    @Test func checkinOpenThenClosed() async throws {
        let temporary = try await folded("CheckinCreated")
        let open = try #require(try temporary.rows("SELECT * FROM checkins").first)
        #expect(open["to_time"] as DatabaseValue == .null)
        #expect(open["source"] as String == "tile")
        #expect(open["business_id"] as Int64 == 1_376_491_116)
        try await temporary.append([StoreFixtures.delivery("CheckinUpdated")])
        try await temporary.foldAll()
        let closed: String? = try temporary.value("SELECT to_time FROM checkins")
        #expect(closed == "2026-03-02T08:21:31.9197626Z")
    }

    @Test func proposalColumns() async throws {
        let temporary = try await folded("ProposalCreated", "ProposalUpdated")
        let draft = try #require(try temporary.rows("SELECT * FROM proposals WHERE id = 1419004051").first)
        #expect(draft["status"] as String == "draft")
        #expect(draft["issued_by_id"] as Int64 == 1_376_491_116)
        #expect(draft["reference"] as String == "PR-4051")
        #expect(draft["price"] as Double == 2228.28)
        #expect(draft["tariff_name"] as String == "Private office 4p")
        #expect(draft["start_date"] as String == "2026-03-16T00:00:00.0000000Z")
        #expect(draft["expiration_date"] as String == "2026-04-01T00:00:00.0000000Z")
        let accepted: String? = try temporary.value("SELECT status FROM proposals WHERE id = 1419091247")
        #expect(accepted == "accepted")
    }

    @Test func contractColumns() async throws {
        let temporary = try await folded("CoworkerContractCreate", "CoworkerContractCancel")
        let created = try #require(try temporary.rows("SELECT * FROM contracts WHERE id = 1419069022").first)
        #expect(created["coworker_id"] as Int64 == 1_419_009_389)
        #expect(created["tariff_id"] as Int64 == 1_400_000_000)
        #expect(created["price"] as Double == 1792.26)
        #expect(created["renewal_date"] as String == "2026-04-02T00:00:00.0000000Z")
        #expect(created["cancellation_date"] as DatabaseValue == .null)
        #expect(created["active"] as Int == 1)
        #expect(created["cancelled"] as Int == 0)
        let cancelled = try #require(try temporary.rows("SELECT * FROM contracts WHERE id = 1419073816").first)
        #expect(cancelled["cancelled"] as Int == 1)
        #expect(cancelled["active"] as Int == 0)
        #expect(cancelled["cancellation_date"] as String == "2026-04-01T00:00:00.0000000Z")
    }

    @Test func otherEntitiesLandInEntities() async throws {
        let temporary = try await folded("CalendarEventCreate")
        let row = try #require(try temporary.rows("SELECT * FROM entities").first)
        #expect(row["entity_type"] as String == "CalendarEvent")
        #expect(row["id"] as Int64 == 1_419_270_332)
        #expect(row["action"] as String == "CalendarEventCreate")
        #expect((row["data"] as String).contains("Breakfast — Jürgen Smith"))
    }

    @Test func everyFixtureTogetherGivesTheExpectedReplica() async throws {
        let temporary = try TemporaryStore()
        try await temporary.append(StoreFixtures.names.map(StoreFixtures.delivery))
        try await temporary.foldAll()
        func count(_ table: String) throws -> Int { try temporary.value("SELECT count(*) FROM \(table)") ?? -1 }
        #expect(try count("coworkers") == 2)
        #expect(try count("bookings") == 2)
        #expect(try count("invoices") == 6)
        #expect(try count("invoice_events") == 9)
        #expect(try count("teams") == 0)
        #expect(try count("team_members") == 0)
        #expect(try count("checkins") == 0)
        #expect(try count("proposals") == 1)
        #expect(try count("contracts") == 2)
        #expect(try count("entities") == 1)
        let tombstones = try temporary.rows("SELECT entity_type, id FROM tombstones ORDER BY entity_type")
            .map { "\($0[0] as String):\($0[1] as Int64)" }
        #expect(tombstones == [
            "Booking:1419072975", "Checkin:1419033768", "Coworker:1419000582", "CoworkerContract:1419069022",
            "CoworkerInvoice:1419044866", "Proposal:1419004051", "Team:1419021592",
        ])
        let contract: String? = try temporary.value("SELECT updated_on FROM contracts WHERE id = 1419027272")
        #expect(contract == "2026-03-02T09:06:32.3278109Z")
        let quarantined: Int? = try temporary.value("SELECT count(*) FROM events WHERE status = 'quarantined'")
        #expect(quarantined == 0)
        let checkpoints = try temporary.rows("SELECT DISTINCT checkpoint FROM projections").map { $0[0] as Int64 }
        #expect(checkpoints == [Int64(StoreFixtures.names.count)])
    }
}
