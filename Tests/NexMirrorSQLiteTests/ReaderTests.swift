import Foundation
import NexMirrorCore
import NexMirrorStore
import Testing
@testable import NexMirrorSQLite

/// Collects what a store streams, as the CLI's writers receive it.
struct CollectingWriter: RowWriter {
    var columns: [String] = []
    var rows: [[Cell]] = []
    var ended = false
    mutating func begin(columns: [String]) throws { self.columns = columns }
    mutating func write(_ row: [Cell]) throws { rows.append(row) }
    mutating func end() throws { ended = true }
}

@Suite struct ReaderTests {
    static func store() async throws -> TemporaryStore {
        let temporary = try TemporaryStore()
        try await temporary.append(["CoworkerCreate", "BookingCreate", "CoworkerUpdate"].map(StoreFixtures.delivery))
        try await temporary.foldAll()
        return temporary
    }

    @Test func queryStreamsOneReadOnlyStatementWithItsParameters() async throws {
        let temporary = try await Self.store()
        let reader = try SQLiteReader(path: temporary.store.path)
        var writer = CollectingWriter()
        try await reader.query(
            "SELECT seq, action FROM events WHERE seq >= :from ORDER BY seq",
            parameters: try QueryParameters(["from=2"]), into: &writer)
        #expect(writer.columns == ["seq", "action"])
        #expect(writer.rows == [[.integer(2), .text("BookingCreate")], [.integer(3), .text("CoworkerUpdate")]])
        #expect(writer.ended)
    }

    @Test func queryRefusesWritesAndScriptsBeforeRunning() async throws {
        let temporary = try await Self.store()
        let reader = try SQLiteReader(path: temporary.store.path)
        var writer = CollectingWriter()
        let refusals: [(String, QueryError)] = [
            ("DELETE FROM events", .writes("DELETE")),
            ("ATTACH 'x.sqlite' AS x", .otherDatabase("ATTACH")),
            ("BEGIN", .transactionControl("BEGIN")),
            ("PRAGMA user_version = 3", .settingPragma),
            ("SELECT 1; SELECT 2", .severalStatements(2)),
            ("  ", .noStatement),
        ]
        for (sql, expected) in refusals {
            await #expect(throws: expected, "\(sql)") {
                try await reader.query(sql, parameters: try QueryParameters([]), into: &writer)
            }
        }
        let deliveries: Int? = try temporary.value("SELECT count(*) FROM events")
        #expect(deliveries == 3)
        await #expect(throws: QueryError.sql("no such table: nowhere")) {
            try await reader.query("SELECT * FROM nowhere", parameters: try QueryParameters([]), into: &writer)
        }
    }

    @Test func eventsListsTheNewestMatchingDeliveriesOldestFirst() async throws {
        let temporary = try await Self.store()
        let reader = try SQLiteReader(path: temporary.store.path)
        var filter = EventFilter()
        filter.limit = 2
        var writer = CollectingWriter()
        try await reader.listEvents(filter, into: &writer)
        #expect(writer.columns == EventFilter.columns)
        #expect(writer.rows.map { $0[0] } == [.integer(2), .integer(3)])

        filter.limit = 0
        filter.entity = (["Booking", "Coworker"], 1_419_000_582)
        writer = CollectingWriter()
        try await reader.listEvents(filter, into: &writer)
        #expect(writer.rows.map { $0[0] } == [.integer(1)])
    }

    @Test func eventShowsTheBodyExactlyAsReceived() async throws {
        let temporary = try await Self.store()
        let reader = try SQLiteReader(path: temporary.store.path)
        let found = try #require(try await reader.event(seq: 2))
        #expect(found.body == StoreFixtures.body("BookingCreate"))
        #expect(found.metadata.count == LoggedDelivery.metadataColumns.count)
        #expect(found.metadata[2] == .text("BookingCreate"))
        #expect(try await reader.event(seq: 99) == nil)
        #expect(try await reader.lastSeq() == 3)
    }

    @Test func aMissingFileIsOneLineAndNotCreated() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID()).sqlite").path
        #expect(throws: StoreError.self) { try SQLiteReader(path: path) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
