import NexMirrorCore
import Testing
@testable import NexMirrorStore

/// The status query plan, written once: which statements a probe leads to, and the report its
/// rows make, without a database.
@Suite struct StatusPlanTests {
    let now = Timestamp(parsing: "2026-03-20T12:30:00Z")!

    func plan(relations: [String], syncColumns: [String] = [], dialect: SQLDialect = .sqlite) -> StatusPlan {
        StatusPlan(
            [relations.map { [Cell.text($0)] }, syncColumns.map { [Cell.text($0)] }], now: now, dialect: dialect,
            size: SQLStatement("SELECT 42"))
    }

    @Test func missingOptionalTablesAreNotQueried() {
        let old = plan(relations: ["events", "coworkers", "members", "projections", "rejections"])
        let sql = old.statements.map(\.sql).joined(separator: "\n")
        #expect(!sql.contains("nexudus_webhooks"))
        #expect(!sql.contains("sync_state"))
        #expect(!sql.contains("erased_subjects"))
        #expect(sql.contains("SELECT count(*) FROM coworkers"))
        #expect(!sql.contains("SELECT count(*) FROM bookings"))  // not in the probed relations
        let current = plan(
            relations: ["events", "sync_state", "nexudus_webhooks", "erased_subjects"], syncColumns: ["kind", "fetch_mode"])
        let all = current.statements.map(\.sql).joined(separator: "\n")
        #expect(all.contains("fetch_mode, fetch_note"))
        #expect(all.contains("FROM nexudus_webhooks"))
        #expect(all.contains("FROM erased_subjects"))
        #expect(plan(relations: ["sync_state"]).statements.map(\.sql).joined().contains("NULL, NULL"))
    }

    @Test func eachDialectNumbersItsParametersAndSortsBytewise() {
        let postgres = plan(relations: ["sync_state"], dialect: .postgreSQL).statements.map(\.sql)
        #expect(postgres.contains { $0.contains("received_at >= $1") })
        #expect(postgres.contains { $0.contains("ORDER BY kind COLLATE \"C\"") })
        #expect(postgres.contains { $0.contains("extract(epoch FROM") })
        let sqlite = plan(relations: ["sync_state"]).statements.map(\.sql)
        #expect(sqlite.contains { $0.contains("received_at >= ?1") })
        #expect(sqlite.contains { $0.contains("julianday") })
    }

    @Test func rowsMakeTheReport() throws {
        let plan = plan(relations: ["coworkers", "rejections"])
        var rows = Array(repeating: [[Cell]](), count: plan.statements.count)
        rows[0] = [[.integer(12)]]  // last seq
        rows[1] = [[.integer(12)]]  // deliveries
        rows[3] = [[.text("2026-03-20T12:00:00.0000000Z"), .text("CoworkerUpdate")]]
        rows[10] = [[.text("coworkers"), .integer(3), .integer(9), .null, .text("2026-03-20T12:00:00.0000000Z")]]
        rows[11] = [[.text("2026-03-20T11:00:00.0000000Z")]]  // oldest waiting: 90 minutes
        rows[16] = [[.integer(2)]]  // rejections in 24 h
        rows[17] = [[.integer(2)]]  // since the last verified
        rows[21] = [[.integer(4096)]]  // size
        rows[22] = [[.integer(5)]]  // coworkers
        let report = plan.report(rows, database: "test", silence: SilenceRule())
        #expect(report.log.lastSeq == 12)
        #expect(report.log.lastAction == "CoworkerUpdate")
        #expect(report.log.fileBytes == 4096)
        #expect(report.tables == ["coworkers": 5])
        #expect(report.projections.map(\.lag) == [3])
        #expect(report.hourly.count == 168)
        #expect(report.hint?.hasPrefix("2 deliveries were rejected for their signature and none was ever verified") == true)
        #expect(report.problems.contains { $0.hasPrefix("projection lag: coworkers is 3 deliveries behind, the oldest waiting 1h 30m") })
        #expect(report.problems.contains { $0.hasPrefix("rejected: 2 signature rejections in the last 24 h") })
    }
}
