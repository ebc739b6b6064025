import Foundation
import GRDB
import NexMirrorCore
import Testing
import NexMirrorStore
@testable import NexMirrorSQLite

@Suite struct EventLogTests {
    @Test func migrationsAreAppliedOnceAndRecorded() throws {
        let temporary = try TemporaryStore()
        let reopened = try SQLiteStore(path: temporary.store.path)
        #expect(try reopened.appliedMigrations() == ["0001_event_log", "0002_replica", "0003_sync", "0004_activity_index", "0005_sync_fetch_mode", "0006_erasure", "0007_compaction"])
        let recorded: Int? = try temporary.value("SELECT count(*) FROM grdb_migrations")
        #expect(recorded == 7)
    }

    @Test func logIsWALWithFullSync() throws {
        let temporary = try TemporaryStore()
        let (mode, sync) = try temporary.store.pool.write { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(mode == "wal")
        #expect(sync == 2)
    }

    @Test func appendKeepsExactBytesAndIndexesTheDTO() async throws {
        let temporary = try TemporaryStore()
        let results = try await temporary.append([StoreFixtures.delivery("emoji-name")])
        #expect(results == [AppendResult(seq: 1, duplicate: false)])
        let row = try #require(try temporary.rows("SELECT * FROM events").first)
        #expect((row["body"] as Data) == Data(StoreFixtures.body("emoji-name")))
        #expect(row["action"] as String == "CoworkerCreate")
        #expect(row["action_id"] as Int == 3)
        #expect(row["entity_type"] as String == "Coworker")
        #expect(row["entity_id"] as Int64 == 1_419_039_121)
        #expect(row["updated_on"] as String == "2026-03-02T08:13:44.4185848Z")
        #expect(row["status"] as String == "ok")
        let expectedHash = Hex.encodeLower(SHA256Reference.digest(StoreFixtures.body("emoji-name")))
        #expect(row["body_sha256"] as String == expectedHash)
    }

    @Test func byteIdenticalRedeliveryIsADuplicate() async throws {
        let temporary = try TemporaryStore()
        let first = try await temporary.append([StoreFixtures.delivery("BookingCreate")])
        let again = try await temporary.append([StoreFixtures.delivery("BookingCreate"), StoreFixtures.delivery("BookingCreate")])
        #expect(again == [AppendResult(seq: first[0].seq, duplicate: true), AppendResult(seq: first[0].seq, duplicate: true)])
        let count: Int? = try temporary.value("SELECT count(*) FROM events")
        #expect(count == 1)
        // The same bytes under another action are another delivery.
        let other = try await temporary.append([
            NewDelivery(action: ActionCatalog.action(named: "BookingUpdate")!, body: StoreFixtures.body("BookingCreate"),
                        source: .webhook, signature: .raw)
        ])
        #expect(other == [AppendResult(seq: first[0].seq + 1, duplicate: false)])
    }

    @Test func duplicatesInOneGroupCommitAreDetected() async throws {
        let temporary = try TemporaryStore()
        let results = try await temporary.append([StoreFixtures.delivery("TeamCreated"), StoreFixtures.delivery("TeamCreated")])
        #expect(results == [AppendResult(seq: 1, duplicate: false), AppendResult(seq: 1, duplicate: true)])
    }

    @Test func undecodableBodyIsQuarantinedWithItsReason() async throws {
        let temporary = try TemporaryStore()
        let action = ActionCatalog.action(named: "BookingCreate")!
        try await temporary.append([
            NewDelivery(action: action, body: Array("{not json".utf8), source: .webhook, signature: .raw),
            NewDelivery(action: action, body: Array("{\"Id\":5}".utf8), source: .webhook, signature: .raw),
            NewDelivery(action: action, body: Array("[{\"Name\":\"x\"}]".utf8), source: .webhook, signature: .raw),
        ])
        let rows = try temporary.rows("SELECT status, error, body FROM events ORDER BY seq")
        #expect(rows.map { $0["status"] as String } == ["quarantined", "quarantined", "quarantined"])
        #expect((rows[0]["error"] as String).contains("not JSON"))
        #expect((rows[1]["error"] as String).contains("expected an array"))
        #expect(rows[2]["error"] as String == "DTO has no Id")
        #expect((rows[0]["body"] as Data) == Data("{not json".utf8))
    }

    @Test func rejectionsAreBounded() async throws {
        let temporary = try TemporaryStore()
        func rejection(_ index: Int) -> Rejection {
            Rejection(action: "CoworkerCreate", body: Array("\(index)".utf8), remoteAddress: "127.0.0.1", reason: "mismatch")
        }
        try await temporary.store.recordRejections((0..<(SQLiteStore.rejectionsKept - 3)).map(rejection))
        for index in (SQLiteStore.rejectionsKept - 3)..<(SQLiteStore.rejectionsKept + 5) {
            try await temporary.store.recordRejections([rejection(index)])
        }
        let kept: Int? = try temporary.value("SELECT count(*) FROM rejections")
        let total: Int? = try temporary.value("SELECT max(id) FROM rejections")
        #expect(kept == SQLiteStore.rejectionsKept)
        #expect(total == SQLiteStore.rejectionsKept + 5)
    }

    @Test func readinessReflectsAWritableStore() async throws {
        let temporary = try TemporaryStore()
        #expect(await temporary.store.isWritable())
    }
}

import Crypto

enum SHA256Reference {
    static func digest(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }
}
