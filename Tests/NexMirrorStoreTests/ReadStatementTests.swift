import Foundation
import NexMirrorCore
import Testing
@testable import NexMirrorStore

/// What the read side decides once for both backends: the refusals of `query`, the `events`
/// listing, the `--as-of` condition and `history`'s read.
@Suite struct ReadStatementTests {
    @Test func queryRefusesTheSameKeywordsOnEveryBackend() {
        let refusals: [(String, QueryError)] = [
            ("ATTACH 'x.sqlite' AS x", .otherDatabase("ATTACH")),
            ("detach x", .otherDatabase("DETACH")),
            ("BEGIN", .transactionControl("BEGIN")),
            ("/* c */ start transaction", .transactionControl("START")),
            ("SET search_path = elsewhere", .transactionControl("SET")),
            ("RESET ALL", .transactionControl("RESET")),
            ("PREPARE p AS SELECT 1", .transactionControl("PREPARE")),
            ("PRAGMA user_version = 3", .settingPragma),
            (" ; -- nothing\n", .noStatement),
        ]
        for (sql, expected) in refusals {
            #expect(throws: expected, "\(sql)") { try QueryError.refuse(sql) }
        }
        for sql in ["SELECT 1", "PRAGMA table_info(events)", "WITH x AS (SELECT 1) SELECT * FROM x", "/* unterminated"] {
            #expect(throws: Never.self, "\(sql)") { try QueryError.refuse(sql) }
        }
    }

    @Test func eventsListsTheNewestLimitOldestFirst() {
        var filter = EventFilter()
        filter.action = "CoworkerUpdate"
        filter.entity = (["Coworker", "Member"], 7)
        filter.since = Timestamp(parsing: "2026-03-01T00:00:00Z")
        filter.limit = 10
        let postgres = filter.statement(.postgreSQL)
        #expect(postgres.sql.contains("action = $1 AND entity_type IN ($2, $3) AND entity_id = $4 AND received_at >= $5"))
        #expect(postgres.sql.hasSuffix("ORDER BY seq DESC LIMIT $6) AS newest ORDER BY seq"))
        #expect(postgres.arguments == [
            .text("CoworkerUpdate"), .text("Coworker"), .text("Member"), .integer(7),
            .text("2026-03-01T00:00:00.0000000Z"), .integer(10),
        ])
        filter.limit = 0
        let all = filter.statement(.sqlite)
        #expect(all.sql.contains("entity_type IN (?2, ?3)"))
        #expect(all.sql.hasSuffix("\nORDER BY seq"))
        #expect(!all.sql.contains("LIMIT"))
        #expect(all.arguments.count == 5)
    }

    @Test func asOfComparesVersionTimesBytewise() throws {
        let instant = try #require(Timestamp(parsing: "2026-01-01T00:00:00Z"))
        #expect(AsOfFilter.condition(.sqlite, parameter: "?") == "coalesce(updated_on, received_at) <= ?")
        #expect(AsOfFilter.condition(.postgreSQL, at: instant)
            == "coalesce(updated_on, received_at) COLLATE \"C\" <= '2026-01-01T00:00:00.0000000Z'")
    }

    @Test func historyReadsTheEntitysDeliveriesUnderEachType() {
        let statement = EntityHistory.statement(entityTypes: ["Coworker", "Member"], id: 9, dialect: .postgreSQL)
        #expect(statement.sql.contains("entity_id = $1 AND entity_type IN ($2, $3) ORDER BY seq"))
        #expect(statement.arguments == [.integer(9), .text("Coworker"), .text("Member")])
        let row: [Cell] = [
            .integer(4), .text("2026-03-01T00:00:00.0000000Z"), .text("CoworkerUpdate"), .text("webhook"), .null,
            .text("folded"), .null, .blob(Data("{}".utf8)), .text("Coworker"), .text("raw"),
        ]
        let history = EntityHistory(entityTypes: ["Coworker"], id: 9, rows: [row])
        #expect(history.entries.map(\.seq) == [4])
    }
}
