import NexMirrorStore
import Testing

/// `history`'s replay of the fold over one entity's deliveries, without a database.
@Suite struct EntityHistoryReplayTests {
    static func record(_ seq: Int64, _ action: String, _ body: String, status: String = "ok") -> EntityHistory.Record {
        EntityHistory.Record(
            seq: seq, receivedAt: "2026-03-02T09:00:0\(seq).0000000Z", action: action, source: "webhook",
            updatedOn: nil, status: status, error: status == "ok" ? nil : "bad", body: Array(body.utf8),
            entityType: "Tariff")
    }

    @Test func outcomesFollowTheFoldRule() {
        let history = EntityHistory(entityTypes: ["Tariff"], id: 7, records: [
            Self.record(1, "TariffCreate", #"[{"Id":7,"UpdatedOn":"2026-03-02T08:00:00Z","Name":"a"}]"#),
            Self.record(2, "TariffUpdate", #"[{"Id":7,"UpdatedOn":"2026-03-02T08:05:00Z","Name":"b"}]"#),
            Self.record(3, "TariffUpdate", #"[{"Id":7,"UpdatedOn":"2026-03-02T07:00:00Z","Name":"c"}]"#),
            Self.record(4, "TariffUpdate", #"[{"Id":7,"UniqueId":5}]"#),
            Self.record(5, "TariffDelete", #"[{"Id":7,"UpdatedOn":"2026-03-02T08:05:00Z"}]"#),
        ])
        #expect(history.entries.map(\.outcome) == [
            "superseded by seq 2",
            "superseded by seq 5",
            "ignored as older than seq 2",
            "quarantined: entities: field UniqueId: expected a string, found number 5",
            "deleted",
        ])
        #expect(history.entries[1].changes.map(\.description) == ["Name: a → b"])
    }
}
