import Foundation
import NexMirrorTestSupport
import NexudusFixtures
import Logging
import NexMirrorCore
import NexMirrorPostgres
import NexMirrorProjections
import NexMirrorStore
import Testing

/// The PostgreSQL store in process: migrations, appends from several stores at once, and the fold.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresStoreTests {
    static let logger = Logger(label: "test")

    static func open(_ url: String) async throws -> PostgresStore {
        try await PostgresStore(url: try PostgresURL(url), deadline: testDeadline, logger: logger)
    }

    static func delivery(_ fixture: String, receivedAt: Timestamp = .now) -> NewDelivery {
        NewDelivery(
            action: ActionCatalog.action(named: NexudusFixtures.action(of: fixture))!, body: NexudusFixtures.body(fixture),
            source: .webhook, signature: .raw, receivedAt: receivedAt)
    }

    @Test func concurrentStartsApplyEachMigrationOnce() async throws {
        let url = try PostgresCluster.makeDatabase()
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<4 { group.addTask { try await Self.open(url) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(try await stores[0].appliedMigrations() == [
            "0001_pg_event_log", "0002_pg_replica", "0003_pg_append_batch", "0004_pg_append_on_conflict",
            "0005_pg_replica_index_names", "0006_pg_sync_fetch_mode", "0007_pg_erasure", "0008_pg_compaction",
        ])
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM schema_migrations") == "8")
        for store in stores { store.close() }
    }

    /// `serve` runs the pools in a service: statements across the hand-over are served (after
    /// it, by a pool that runs only there: they would wait for ever on one nobody runs), and the
    /// end of its task closes the store.
    @Test func poolsHandedOverServeStatementsUntilTheirTaskEnds() async throws {
        let store = try await Self.open(try PostgresCluster.makeDatabase())
        defer { store.close() }
        let pools = Task { await store.runPools() }
        for _ in 0..<3 {
            let appended = try await store.append([Self.delivery("CoworkerCreate")])
            #expect(appended.map(\.seq) == [1])
            try await Task.sleep(for: .milliseconds(200))
        }
        pools.cancel()
        await pools.value
        await #expect(throws: (any Error).self) { try await store.append([Self.delivery("BookingCreate")]) }
    }

    @Test func aRedeliveryToAnotherReceiverIsADuplicateWithTheFirstSeq() async throws {
        let url = try PostgresCluster.makeDatabase()
        let first = try await Self.open(url)
        let second = try await Self.open(url)
        defer { first.close(); second.close() }
        let delivery = Self.delivery("CoworkerCreate")
        async let a = first.append([delivery])
        async let b = second.append([delivery])
        let results = try await a + b
        #expect(Set(results.map(\.seq)) == [1])
        #expect(results.filter(\.duplicate).count == 1)
        #expect(try PostgresCluster.psql(url, "SELECT count(*), max(seq) FROM events") == "1|1")
        // A batch with the same delivery twice appends it once.
        let batch = try await first.append([Self.delivery("BookingCreate"), Self.delivery("BookingCreate")])
        #expect(batch == [AppendResult(seq: 2, duplicate: false), AppendResult(seq: 2, duplicate: true)])
    }

    /// Appending never reads the log to find duplicates: the unique index does it. On a new
    /// database (no statistics yet) the look-up the append used to plan once per session read
    /// every earlier delivery of the action through `events_activity`, so each append got slower
    /// as the log grew.
    @Test func appendsOnANewDatabaseDoNotReadTheLog() async throws {
        let url = try PostgresCluster.makeDatabase()
        let store = try await Self.open(url)
        let body = NexudusFixtures.body("CoworkerUpdate")
        for call in 0..<40 {
            // Distinct bytes, the same action: trailing spaces keep the JSON valid.
            let batch = (0..<5).map { index in
                NewDelivery(
                    action: ActionCatalog.action(named: "CoworkerUpdate")!,
                    body: body + Array(repeating: UInt8(ascii: " "), count: call * 5 + index + 1),
                    source: .webhook, signature: .raw, receivedAt: .now)
            }
            #expect(try await store.append(batch).allSatisfy { !$0.duplicate })
        }
        store.close()
        // A backend reports its statistics when it exits: wait until every append's look-up is in.
        var reads = ""
        for _ in 0..<300 {
            reads = try PostgresCluster.psql(url, """
                SELECT (SELECT sum(idx_scan) FROM pg_stat_user_indexes
                        WHERE indexrelname IN ('events_activity', 'events_delivery')) >= 200,
                       -- Building each index of the log read it once (the migrations); nothing else may.
                       (SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'events')
                           = (SELECT count(*) FROM pg_index WHERE indrelid = 'events'::regclass),
                       (SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'events_activity'),
                       (SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'events_delivery')
                """)
            if reads.hasPrefix("t") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        // One probe of the unique index per delivery (the insert's conflict check), no other read.
        #expect(reads == "t|t|0|200")
        #expect(try PostgresCluster.psql(url, "SELECT count(*), max(seq) FROM events") == "200|200")
    }

    @Test func concurrentAppendsFromSeveralStoresGetContiguousSeqsInCommitOrder() async throws {
        let url = try PostgresCluster.makeDatabase()
        let stores = [try await Self.open(url), try await Self.open(url), try await Self.open(url)]
        defer { for store in stores { store.close() } }
        let names = NexudusFixtures.names
        let seqs = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for (index, name) in names.enumerated() {
                group.addTask { try await stores[index % 3].append([Self.delivery(name)]).map(\.seq) }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(seqs.sorted() == Array(1...Int64(names.count)))
        #expect(try PostgresCluster.psql(url, "SELECT count(*) = max(seq) FROM events") == "t")
    }

    /// The replica is a function of the set of deliveries: any order, with duplicates, folded by
    /// two projectors at once, gives what in-order delivery gives.
    @Test func anyOrderAndDuplicatesConvergeWithTwoProjectors() async throws {
        let names = NexudusFixtures.names
        let reference = try await foldedReplica(names.map { [$0] }, projectors: 1)
        #expect(reference.contains("coworkers"))
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3 {
            var order = names + names.shuffled(using: &generator).prefix(10)
            order.shuffle(using: &generator)
            // Several deliveries per commit, as a receiver under load groups them.
            let batches = stride(from: 0, to: order.count, by: 3).map { Array(order[$0..<min($0 + 3, order.count)]) }
            #expect(try await foldedReplica(batches, projectors: 2) == reference)
        }
    }

    /// Appends `batches` to a fresh database, folds with `projectors` concurrent stores, and
    /// returns the replica without log positions (which depend on arrival order).
    func foldedReplica(_ batches: [[String]], projectors: Int) async throws -> String {
        let url = try PostgresCluster.makeDatabase()
        let stores = try await (0..<projectors).asyncMap { _ in try await Self.open(url) }
        defer { for store in stores { store.close() } }
        for store in stores { try await store.registerProjections() }
        for (index, batch) in batches.enumerated() {
            _ = try await stores[index % projectors].append(batch.map { Self.delivery($0) })
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores {
                group.addTask { while try await store.foldPending(limit: 7) > 0 {} }
            }
            try await group.waitForAll()
        }
        let progress = try await stores[0].progress()
        #expect(progress.checkpoint == progress.lastSeq)
        return try Self.replicaDump(url)
    }

    /// Every replica table, rows sorted, without `seq`.
    static func replicaDump(_ url: String) throws -> String {
        var dump = ""
        for projection in Projections.all {
            let key = projection.keyedByEntityType ? "entity_type, id" : "id"
            dump += "\(projection.table)\n"
            dump += try PostgresCluster.psql(url, "SELECT \(key), updated_on, md5(data) FROM \(projection.table) ORDER BY \(key)") + "\n"
            for child in projection.childTables {
                dump += try PostgresCluster.psql(url, "SELECT * FROM \(child.name) ORDER BY 1, 2") + "\n"
            }
            if let history = projection.historyTable {
                let columns = history.columns.joined(separator: ", ")
                dump += try PostgresCluster.psql(url, "SELECT \(columns) FROM \(history.name) ORDER BY \(columns)") + "\n"
            }
        }
        dump += try PostgresCluster.psql(url, "SELECT entity_type, id, updated_on FROM tombstones ORDER BY 1, 2")
        return dump
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var values: [T] = []
        for element in self { values.append(try await transform(element)) }
        return values
    }
}
