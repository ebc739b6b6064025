import Foundation
import GRDB
import NexMirrorCore
import Testing
import NexMirrorStore
@testable import NexMirrorSQLite

/// Deliveries built for the operations tests: coworker versions with chosen times and fields.
enum Versions {
    static func at(_ text: String) -> Timestamp { Timestamp(parsing: text)! }

    /// A CoworkerCreate/Update/Delete body. `active` is raw JSON, so `"\"yes\""` makes a version
    /// the fold must quarantine.
    static func coworker(
        _ id: Int64, updatedOn: String?, name: String = "Ada", active: String = "true", archived: Bool = false,
        business: Int64 = 2, tariff: String = "Hot desk", email: String = "ada@example.org", extra: String = ""
    ) -> [UInt8] {
        let updated = updatedOn.map { #","UpdatedOn":"\#($0)""# } ?? ""
        return Array("""
            [{"Id":\(id),"FullName":"\(name)","Email":"\(email)","Active":\(active),"Archived":\(archived),\
            "InvoicingBusinessId":\(business),"TariffName":"\(tariff)"\(updated)\(extra)}]
            """.utf8)
    }

    static func delivery(_ action: String, _ body: [UInt8], receivedAt: String = "2026-06-01T00:00:00Z") -> NewDelivery {
        NewDelivery(
            action: ActionCatalog.action(named: action)!, body: body, source: .webhook, signature: .raw,
            receivedAt: at(receivedAt))
    }

    static func report(_ temporary: TemporaryStore, now: String, silence: SilenceRule = SilenceRule()) throws -> StatusReport {
        try temporary.store.pool.read { db in
            try StatusReport(db: db, path: temporary.store.path, now: at(now), silence: silence)
        }
    }
}

/// The silence alarm, on a fake clock: the report is read at a chosen instant.
@Suite struct SilenceAlarmTests {
    /// CoworkerUpdate at 08:00, 09:00, 10:00, 13:00, 14:00: the longest gap is 3 h.
    private func rhythmicStore() async throws -> TemporaryStore {
        let temporary = try TemporaryStore()
        let hours = ["08", "09", "10", "13", "14"]
        try await temporary.append(hours.enumerated().map { index, hour in
            Versions.delivery(
                "CoworkerUpdate", Versions.coworker(Int64(index + 1), updatedOn: "2026-06-01T\(hour):00:00Z"),
                receivedAt: "2026-06-01T\(hour):00:00Z")
        })
        return temporary
    }

    private func action(_ report: StatusReport, _ name: String) throws -> StatusReport.ActionActivity {
        try #require(report.actions.first { $0.action == name })
    }

    @Test func learnedThresholdIsTwiceTheLongestGap() async throws {
        let temporary = try await rhythmicStore()
        let quiet = try action(try Versions.report(temporary, now: "2026-06-01T19:59:00Z"), "CoworkerUpdate")
        #expect(quiet.silenceThresholdSeconds == 6 * 3_600)
        #expect(quiet.thresholdSource == "learned")
        #expect(quiet.state.rawValue == "ok")
        let report = try Versions.report(temporary, now: "2026-06-01T20:01:00Z")
        #expect(try action(report, "CoworkerUpdate").state.rawValue == "silent")
        #expect(report.silent == ["CoworkerUpdate"])
        #expect(report.problems.contains { $0.hasPrefix("silent: CoworkerUpdate received nothing for 6h 1m") })
    }

    @Test func silenceAfterOverridesTheLearnedThreshold() async throws {
        let temporary = try await rhythmicStore()
        let report = try Versions.report(temporary, now: "2026-06-01T14:31:00Z", silence: SilenceRule(fixed: 1_800))
        let update = try action(report, "CoworkerUpdate")
        #expect(update.state.rawValue == "silent")
        #expect(update.thresholdSource == "--silence-after")
        #expect(try action(Versions.report(temporary, now: "2026-06-01T14:29:00Z", silence: SilenceRule(fixed: 1_800)), "CoworkerUpdate").state.rawValue == "ok")
    }

    @Test func fewDeliveriesFallBackToSevenDays() async throws {
        let temporary = try TemporaryStore()
        try await temporary.append([
            Versions.delivery("TeamCreated", Array(#"[{"Id":5,"Name":"A","UpdatedOn":"2026-06-01T00:00:00Z"}]"#.utf8),
                              receivedAt: "2026-06-01T00:00:00Z"),
        ])
        let early = try action(try Versions.report(temporary, now: "2026-06-07T23:00:00Z"), "TeamCreated")
        #expect(early.state.rawValue == "ok")
        #expect(early.thresholdSource == "default")
        #expect(try action(try Versions.report(temporary, now: "2026-06-08T01:00:00Z"), "TeamCreated").state.rawValue == "silent")
    }

    @Test func aBusyActionIsGivenAtLeastOneHour() async throws {
        let temporary = try TemporaryStore()
        try await temporary.append((0..<6).map { minute in
            Versions.delivery(
                "CoworkerUpdate", Versions.coworker(Int64(minute + 1), updatedOn: "2026-06-01T08:0\(minute):00Z"),
                receivedAt: "2026-06-01T08:0\(minute):00Z")
        })
        #expect(try action(try Versions.report(temporary, now: "2026-06-01T09:04:00Z"), "CoworkerUpdate").state.rawValue == "ok")
        let late = try action(try Versions.report(temporary, now: "2026-06-01T09:06:00Z"), "CoworkerUpdate")
        #expect(late.silenceThresholdSeconds == 3_600)
        #expect(late.state.rawValue == "silent")
    }

    @Test func onlyTheLastThirtyDaysTeachTheRule() async throws {
        let temporary = try TemporaryStore()
        // A 20-day gap in April, then a daily rhythm in June.
        let days = ["2026-04-01", "2026-04-21"] + (1...6).map { "2026-06-0\($0)" }
        try await temporary.append(days.enumerated().map { index, day in
            Versions.delivery(
                "CoworkerUpdate", Versions.coworker(Int64(index + 1), updatedOn: "\(day)T12:00:00Z"),
                receivedAt: "\(day)T12:00:00Z")
        })
        let update = try action(try Versions.report(temporary, now: "2026-06-07T12:00:00Z"), "CoworkerUpdate")
        #expect(update.silenceThresholdSeconds == 2 * 86_400)
    }

    @Test func thresholdRuleOnItsOwn() {
        let rule = SilenceRule()
        #expect(rule.threshold(deliveriesInWindow: 4, longestGap: 60).seconds == SilenceRule.fallback)
        #expect(rule.threshold(deliveriesInWindow: 5, longestGap: 60).seconds == SilenceRule.floor)
        #expect(rule.threshold(deliveriesInWindow: 50, longestGap: 20 * 86_400).seconds == SilenceRule.ceiling)
        #expect(SilenceRule(fixed: 42).threshold(deliveriesInWindow: 0, longestGap: nil) == (42, "--silence-after"))
        #expect(HumanDuration.seconds("1h30m") == 5_400)
        #expect(HumanDuration.seconds("2d") == 172_800)
        #expect(HumanDuration.seconds("soon") == nil)
        #expect(HumanDuration.seconds("0s") == nil)
    }

    @Test func everyDurationFlagReadsOneSyntax() {
        #expect(HumanDuration.parse("1h30m") == .seconds(5_400))
        #expect(HumanDuration.parse("30d") == .seconds(30 * 86_400))
        #expect(HumanDuration.parse("90s") == .seconds(90))
        #expect(HumanDuration.parse("500ms") == .milliseconds(500))
        #expect(HumanDuration.parse("1.5h") == .seconds(5_400))
        #expect(HumanDuration.parse("6H") == .seconds(6 * 3_600))
        for refused in ["", "10", "m", "1x", "-5m", "1h30", "0m"] { #expect(HumanDuration.parse(refused) == nil, "\(refused)") }
    }
}

/// What the status report gathers besides silence: webhooks disabled in Nexudus, sync drift,
/// lag, quarantines, the hourly series.
@Suite struct StatusReportTests {
    @Test func anActionWhoseWebhooksAreAllInactiveIsDisabledInNexudus() async throws {
        let temporary = try TemporaryStore()
        try await temporary.store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO nexudus_webhooks (id, business_id, action, url, active, error_count, seen_at) VALUES
                  (1, 10, 'CoworkerCreate', 'https://m/webhooks/CoworkerCreate', 0, 10, '2026-06-01T00:00:00.0000000Z'),
                  (2, 11, 'CoworkerCreate', 'https://m/webhooks/CoworkerCreate', 0, 10, '2026-06-01T00:00:00.0000000Z'),
                  (3, 10, 'BookingCreate', 'https://m/webhooks/BookingCreate', 0, 10, '2026-06-01T00:00:00.0000000Z'),
                  (4, 11, 'BookingCreate', 'https://m/webhooks/BookingCreate', 1, 0, '2026-06-01T00:00:00.0000000Z')
                """)
        }
        let report = try Versions.report(temporary, now: "2026-06-02T00:00:00Z")
        #expect(report.disabledInNexudus == ["CoworkerCreate"])
        #expect(report.actions.first { $0.action == "CoworkerCreate" }?.state.rawValue == "disabled in Nexudus")
        #expect(report.actions.first { $0.action == "BookingCreate" }?.state.rawValue == "never")
        #expect(report.problems == [
            "disabled in Nexudus: every webhook for CoworkerCreate is inactive; re-enable it (nexmirror webhooks setup --url BASE)",
        ])
    }

    @Test func syncDriftAndAFailingSync() async throws {
        let temporary = try TemporaryStore()
        try await temporary.store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO sync_state (kind, started_at, finished_at, error, listed, fetched, new, changed, deleted, unchanged)
                VALUES ('coworkers', '2026-06-01T10:00:00.0000000Z', '2026-06-01T10:02:00.0000000Z', NULL, 120, 7, 2, 4, 1, 113),
                       ('bookings', '2026-06-01T10:00:00.0000000Z', NULL, 'HTTP 500 after 5 retries', 0, 0, 0, 0, 0, 0)
                """)
        }
        let report = try Versions.report(temporary, now: "2026-06-02T00:00:00Z")
        let coworkers = try #require(report.sync.first { $0.kind == "coworkers" })
        #expect(coworkers.drift == 7)
        #expect(coworkers.finishedAt == "2026-06-01T10:02:00.0000000Z")
        #expect(report.problems == ["sync failing: bookings: HTTP 500 after 5 retries"])
    }

    @Test func lagIsAProblemOnlyOnceADeliveryWaitedAMinute() async throws {
        let temporary = try TemporaryStore()
        try await temporary.append([
            Versions.delivery("CoworkerCreate", Versions.coworker(1, updatedOn: "2026-06-01T00:00:00Z"),
                              receivedAt: "2026-06-01T12:00:00Z"),
        ])
        let fresh = try Versions.report(temporary, now: "2026-06-01T12:00:30Z")
        #expect(!fresh.problems.contains { $0.hasPrefix("projection lag") })
        let stuck = try Versions.report(temporary, now: "2026-06-01T12:05:00Z")
        #expect(stuck.problems.contains("projection lag: coworkers is 1 delivery behind, the oldest waiting 5m; is `nexmirror serve` running?"))
        try await temporary.foldAll()
        #expect(try Versions.report(temporary, now: "2026-06-01T12:05:00Z").problems.isEmpty)
    }

    @Test func recentQuarantinesAreListedNewestFirst() async throws {
        let temporary = try TemporaryStore()
        try await temporary.append([
            Versions.delivery("CoworkerCreate", Array("not json".utf8), receivedAt: "2026-06-01T12:00:00Z"),
            Versions.delivery("CoworkerUpdate", Versions.coworker(1, updatedOn: "2026-06-01T00:00:00Z", active: "\"yes\""),
                              receivedAt: "2026-06-01T12:01:00Z"),
        ])
        try await temporary.foldAll()
        let report = try Versions.report(temporary, now: "2026-06-01T13:00:00Z")
        #expect(report.quarantine.total == 2)
        #expect(report.quarantine.last24h == 2)
        #expect(report.quarantine.newest.map(\.seq) == [2, 1])
        #expect(report.problems.count == 1)
        #expect(report.problems[0].hasPrefix("quarantined: 2 in the last 24 h, newest seq 2 CoworkerUpdate: coworkers: field Active"))
        #expect(try Versions.report(temporary, now: "2026-06-03T13:00:00Z").problems.isEmpty)
    }

    @Test func hourlySeriesCoversSevenDaysOfWebhooksOnly() async throws {
        let temporary = try TemporaryStore()
        try await temporary.append([
            Versions.delivery("CoworkerCreate", Versions.coworker(1, updatedOn: "2026-06-01T00:00:00Z"), receivedAt: "2026-06-07T10:15:00Z"),
            Versions.delivery("CoworkerUpdate", Versions.coworker(1, updatedOn: "2026-06-02T00:00:00Z"), receivedAt: "2026-06-07T10:45:00Z"),
            Versions.delivery("CoworkerUpdate", Versions.coworker(1, updatedOn: "2026-06-03T00:00:00Z"), receivedAt: "2026-06-01T09:00:00Z"),
            NewDelivery(
                action: ActionCatalog.action(named: "CoworkerUpdate")!,
                body: Versions.coworker(1, updatedOn: "2026-06-04T00:00:00Z"), source: .import, signature: .imported,
                receivedAt: Versions.at("2026-06-07T10:50:00Z")),
        ])
        let report = try Versions.report(temporary, now: "2026-06-07T11:30:00Z")
        #expect(report.hourly.count == 168)
        #expect(report.hourly.first?.hour == "2026-05-31T12:00:00.0000000Z")
        #expect(report.hourly.last?.hour == "2026-06-07T11:00:00.0000000Z")
        #expect(report.hourly.first { $0.hour.hasPrefix("2026-06-07T10") }?.deliveries == 2)
        #expect(report.hourly.first { $0.hour.hasPrefix("2026-06-01T09") }?.deliveries == 1)
        #expect(report.hourly.map(\.deliveries).reduce(0, +) == 3)
        let update = try #require(report.actions.first { $0.action == "CoworkerUpdate" })
        #expect(update.deliveries == 3)
        #expect(update.webhooks24h == 1)
        #expect(update.webhooks7d == 2)
        #expect(update.lastReceivedAt == "2026-06-07T10:45:00.0000000Z")
    }
}

/// `history`: the fold's outcome for every delivery of one entity, replayed in log order.
@Suite struct EntityHistoryTests {
    @Test func updatesLateVersionsTiesQuarantinesAndDeletes() async throws {
        let temporary = try TemporaryStore()
        let c = Versions.coworker
        try await temporary.append([
            Versions.delivery("CoworkerCreate", c(7, "2026-06-01T10:00:00Z", "Ada", "true", false, 2, "Hot desk", "ada@example.org", #","Tags":[1,2]"#)),
            Versions.delivery("CoworkerUpdate", c(7, "2026-06-01T11:00:00Z", "Ada", "true", false, 2, "Dedicated desk", "ada@example.org", #","Tags":[1,2]"#)),
            // Late: older than what the replica holds.
            Versions.delivery("CoworkerUpdate", c(7, "2026-06-01T10:30:00Z", "Ada L", "true", false, 2, "Hot desk", "ada@example.org", #","Tags":[1,2]"#)),
            // Tie on UpdatedOn: the later log position wins.
            Versions.delivery("CoworkerUpdate", c(7, "2026-06-01T11:00:00Z", "Ada", "true", false, 2, "Dedicated desk", "ada@lovelace.org", #","Tags":[1,2,3]"#)),
            Versions.delivery("CoworkerUpdate", c(7, "2026-06-01T11:30:00Z", "Ada", "\"yes\"", false, 2, "Office", "ada@lovelace.org", "")),
            Versions.delivery("CoworkerDelete", Versions.coworker(7, updatedOn: "2026-06-01T12:00:00Z")),
            Versions.delivery("CoworkerUpdate", c(7, "2026-06-01T11:59:00Z", "Ghost", "true", false, 2, "Office", "ada@lovelace.org", "")),
            Versions.delivery("CoworkerUpdate", c(8, "2026-06-01T11:59:00Z", "Other", "true", false, 2, "Office", "o@example.org", "")),
        ])
        try await temporary.foldAll()
        let history = try await temporary.store.pool.read { db in try EntityHistory(db: db, entityTypes: ["Coworker"], id: 7) }
        #expect(history.entries.map(\.seq) == [1, 2, 3, 4, 5, 6, 7])
        #expect(history.entries.map(\.outcome) == [
            "superseded by seq 2",
            "superseded by seq 4",
            "ignored as older than seq 2",
            "superseded by seq 6",
            "quarantined: coworkers: field Active: expected true or false, found string \"yes\"",
            "deleted",
            "ignored after a delete (seq 6)",
        ])
        #expect(history.entries[0].changes.isEmpty)
        #expect(history.entries[1].changes.map(\.description) == ["TariffName: Hot desk → Dedicated desk"])
        #expect(history.entries[2].changes.map(\.description) == ["FullName: Ada → Ada L", "TariffName: Dedicated desk → Hot desk"])
        #expect(history.entries[3].changes.map(\.description) == ["Email: ada@example.org → ada@lovelace.org", "Tags: [1,2] → [1,2,3]"])
        #expect(history.entries[1].updatedOn == "2026-06-01T11:00:00.0000000Z")
        // The replica agrees: no row, a tombstone from seq 6.
        let tombstone: Int64? = try temporary.value("SELECT seq FROM tombstones WHERE entity_type = 'Coworker' AND id = 7")
        #expect(tombstone == 6)
        let rows: Int? = try temporary.value("SELECT count(*) FROM coworkers WHERE id = 7")
        #expect(rows == 0)
    }

    @Test func theHeldVersionIsTheOneTheReplicaHolds() async throws {
        let temporary = try TemporaryStore()
        try await temporary.append([
            Versions.delivery("CoworkerUpdate", Versions.coworker(9, updatedOn: "2026-06-02T00:00:00Z", name: "B")),
            Versions.delivery("CoworkerCreate", Versions.coworker(9, updatedOn: "2026-06-01T00:00:00Z", name: "A")),
            Versions.delivery("CoworkerDelete", Versions.coworker(9, updatedOn: "2026-05-01T00:00:00Z")),
        ])
        try await temporary.foldAll()
        let history = try await temporary.store.pool.read { db in try EntityHistory(db: db, entityTypes: ["Coworker"], id: 9) }
        #expect(history.entries.map(\.outcome) == ["the version held", "ignored as older than seq 1", "ignored as older than seq 1"])
        #expect(history.entries[1].changes.map(\.description) == ["FullName: B → A"])
        let held: Int64? = try temporary.value("SELECT seq FROM coworkers WHERE id = 9")
        #expect(held == 1)
    }

    @Test func entityNamesAreTablesOrTypes() {
        #expect(EntityHistory.entityTypes(named: "coworkers") == ["Coworker"])
        #expect(EntityHistory.entityTypes(named: "coworker") == ["Coworker"])
        #expect(EntityHistory.entityTypes(named: "Tariff") == ["Tariff"])
        #expect(EntityHistory.entityTypes(named: "nonsense") == nil)
    }
}

/// `export membership`, against a history computed by hand.
@Suite struct MembershipTests {
    /// C1 joins 10 Jan, is archived 15 Feb, re-activated 5 Apr; a quarantined version on 20 Mar
    /// would have re-activated it early. C2 (business 1) joins 20 Jan, is deleted 10 Mar. C4 is
    /// created inactive 5 Jan, activated 1 Mar, and a late version (logged last) says it was
    /// active from 10 Feb. C5 joins 5 Mar and is deleted by a delivery without UpdatedOn,
    /// received 10 Apr.
    private func history() async throws -> TemporaryStore {
        let temporary = try TemporaryStore()
        let c = Versions.coworker
        try await temporary.append([
            Versions.delivery("CoworkerCreate", c(1, "2026-01-10T09:00:00Z", "C1", "true", false, 2, "Desk", "c1@x", "")),
            Versions.delivery("CoworkerCreate", c(4, "2026-01-05T09:00:00Z", "C4", "false", false, 2, "Desk", "c4@x", "")),
            Versions.delivery("CoworkerCreate", c(2, "2026-01-20T09:00:00Z", "C2", "true", false, 1, "Desk", "c2@x", "")),
            Versions.delivery("CoworkerUpdate", c(1, "2026-02-15T09:00:00Z", "C1", "true", true, 2, "Desk", "c1@x", "")),
            Versions.delivery("CoworkerUpdate", c(4, "2026-03-01T12:00:00Z", "C4", "true", false, 2, "Desk", "c4@x", "")),
            Versions.delivery("CoworkerCreate", c(5, "2026-03-05T09:00:00Z", "C5", "true", false, 2, "Desk", "c5@x", "")),
            Versions.delivery("CoworkerDelete", c(2, "2026-03-10T09:00:00Z", "C2", "true", false, 1, "Desk", "c2@x", "")),
            Versions.delivery("CoworkerUpdate", c(1, "2026-03-20T09:00:00Z", "C1", "\"yes\"", false, 2, "Desk", "c1@x", "")),
            Versions.delivery("CoworkerUpdate", c(1, "2026-04-05T09:00:00Z", "C1", "true", false, 2, "Desk", "c1@x", "")),
            Versions.delivery("CoworkerDelete", Array(#"[{"Id":5}]"#.utf8), receivedAt: "2026-04-10T09:00:00Z"),
            Versions.delivery("CoworkerUpdate", c(4, "2026-02-10T09:00:00Z", "C4", "true", false, 2, "Desk", "c4@x", "")),
        ])
        try await temporary.foldAll()
        return temporary
    }

    private func rows(_ months: [MembershipMonth]) -> [String] {
        months.map { "\($0.month) \($0.membersAtStart) +\($0.joined) -\($0.left) \($0.membersAtEnd)" }
    }

    @Test func monthsFromTheLogsVersions() async throws {
        let temporary = try await history()
        let months = try await temporary.store.pool.read { db in try Membership.months(db: db) }
        #expect(rows(months) == [
            "2026-01 0 +2 -0 2",
            "2026-02 2 +1 -1 2",
            "2026-03 2 +1 -1 2",
            "2026-04 2 +1 -1 2",
        ])
        // The replica today agrees with the last month's end.
        let members: Int? = try temporary.value("SELECT count(*) FROM members")
        #expect(members == 2)
    }

    @Test func oneBusinessAndARangeOfMonths() async throws {
        let temporary = try await history()
        let business = try await temporary.store.pool.read { db in try Membership.months(db: db, business: 1) }
        #expect(rows(business) == ["2026-01 0 +1 -0 1", "2026-02 1 +0 -0 1", "2026-03 1 +0 -1 0", "2026-04 0 +0 -0 0"])
        let range = try await temporary.store.pool.read { db in
            try Membership.months(db: db, from: Versions.at("2026-02-01"), to: Versions.at("2026-06-01"))
        }
        #expect(rows(range) == ["2026-02 2 +1 -1 2", "2026-03 2 +1 -1 2", "2026-04 2 +1 -1 2", "2026-05 2 +0 -0 2"])
    }
}

/// `--as-of T`: the replica built aside from the deliveries up to T, against an independent
/// fold written here from SPEC §4.3.
@Suite struct AsOfTests {
    struct Version {
        let id: Int64
        let name: String
        let updatedOn: String?
        let receivedAt: String
        let isDelete: Bool
    }

    static let versions: [Version] = [
        Version(id: 1, name: "A1", updatedOn: "2026-01-10T00:00:00Z", receivedAt: "2026-01-10T00:00:01Z", isDelete: false),
        Version(id: 2, name: "B1", updatedOn: "2026-01-12T00:00:00Z", receivedAt: "2026-01-12T00:00:01Z", isDelete: false),
        Version(id: 1, name: "A3", updatedOn: "2026-02-10T00:00:00Z", receivedAt: "2026-02-10T00:00:01Z", isDelete: false),
        // Late: logged after A3, older than it.
        Version(id: 1, name: "A2", updatedOn: "2026-01-20T00:00:00Z", receivedAt: "2026-02-11T00:00:01Z", isDelete: false),
        Version(id: 2, name: "", updatedOn: "2026-02-01T00:00:00Z", receivedAt: "2026-02-01T00:00:01Z", isDelete: true),
        // Tie with the delete: the delete wins.
        Version(id: 2, name: "B2", updatedOn: "2026-02-01T00:00:00Z", receivedAt: "2026-02-02T00:00:01Z", isDelete: false),
        Version(id: 3, name: "C1", updatedOn: "2026-03-01T00:00:00Z", receivedAt: "2026-03-01T00:00:01Z", isDelete: false),
        // A delete without UpdatedOn counts from its received_at.
        Version(id: 3, name: "", updatedOn: nil, receivedAt: "2026-03-15T00:00:00Z", isDelete: true),
    ]

    /// The fold of the versions up to T, written from the rule, not from the store's code.
    static func expected(asOf t: String) -> [String] {
        let limit = Versions.at(t)
        var winners: [Int64: Version] = [:]
        for version in versions where Versions.at(version.updatedOn ?? version.receivedAt) <= limit {
            func key(_ v: Version) -> (String, Int, String) {
                (v.updatedOn.map { Versions.at($0).description } ?? (v.isDelete ? "~" : ""), v.isDelete ? 1 : 0, v.receivedAt)
            }
            if let current = winners[version.id], key(current) > key(version) { continue }
            winners[version.id] = version
        }
        return winners.values.filter { !$0.isDelete }.map { "\($0.id) \($0.name)" }.sorted()
    }

    @Test func asOfMatchesAnIndependentFoldAtSeveralInstants() async throws {
        let temporary = try TemporaryStore()
        try await temporary.append(Self.versions.map { v in
            let body = v.isDelete
                ? Array((v.updatedOn.map { #"[{"Id":\#(v.id),"UpdatedOn":"\#($0)"}]"# } ?? #"[{"Id":\#(v.id)}]"#).utf8)
                : Versions.coworker(v.id, updatedOn: v.updatedOn, name: v.name)
            return Versions.delivery(v.isDelete ? "CoworkerDelete" : "CoworkerUpdate", body, receivedAt: v.receivedAt)
        })
        try await temporary.foldAll()
        let live = try temporary.replicaSnapshot()
        let instants = [
            "2025-12-31T00:00:00Z", "2026-01-10T00:00:00Z", "2026-01-15T00:00:00Z", "2026-01-25T00:00:00Z",
            "2026-02-01T00:00:00Z", "2026-02-05T00:00:00Z", "2026-03-10T00:00:00Z", "2026-03-20T00:00:00Z",
            "2027-01-01T00:00:00Z",
        ]
        for t in instants {
            let replica = try AsOfReplica(livePath: temporary.store.path, asOf: Versions.at(t))
            let queue = try SQLiteStore.openReadOnly(path: replica.path)
            let rows = try await queue.read { db in
                try Row.fetchAll(db, sql: "SELECT id, full_name FROM coworkers").map { "\($0[0] as Int64) \($0[1] as String)" }.sorted()
            }
            #expect(rows == Self.expected(asOf: t), "as of \(t)")
            replica.remove()
            #expect(!FileManager.default.fileExists(atPath: replica.path))
        }
        #expect(Self.expected(asOf: "2025-12-31T00:00:00Z").isEmpty)
        #expect(Self.expected(asOf: "2027-01-01T00:00:00Z") == ["1 A3"])
        // After the last delivery the copy is the live replica; the live one never changed.
        let after = try AsOfReplica(livePath: temporary.store.path, asOf: Versions.at("2027-01-01"))
        let copy = try TemporaryStore(opening: after.path)
        #expect(try copy.replicaSnapshot() == live)
        withExtendedLifetime(after) {}
        #expect(try temporary.replicaSnapshot() == live)
        let events: Int? = try temporary.value("SELECT count(*) FROM events")
        #expect(events == Self.versions.count)
    }
}
