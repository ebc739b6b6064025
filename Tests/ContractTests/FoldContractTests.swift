import Foundation
import NexMirrorCore
import NexMirrorStore
import NexMirrorTestSupport
import NexudusFixtures
import PropertyBased
import Testing

/// SPEC §4.3 on both backends: the replica is a function of the set of deliveries, and
/// `rebuild` reproduces what incremental folding built, also while deliveries keep arriving.
@Suite struct FoldContractTests {
    /// Any order and any duplication of generated deliveries, appended in groups and folded at
    /// random moments through `ReplicaStore`, gives the replica that in-order folding gives, and
    /// `rebuild` reproduces it.
    @Test(arguments: Backend.all)
    func anyOrderAndDuplicationConvergeToInOrderFolding(backend: Backend) async throws {
        try backend.requireAvailable()
        await propertyCheck(
            count: 20, input: Gen.int(in: 0...100_000).array(of: 1...40), Gen.int(in: 0...Int.max)
        ) { genes, seed in
            do {
                let deliveries = History.deliveries(genes: genes)
                let inOrder = try backend.makeDatabase()
                let reference = try await inOrder.openStore()
                try await reference.registerProjectionsAndRebuildChanged(progress: nil)
                for delivery in deliveries { _ = try await reference.append([delivery]) }
                while try await reference.foldPending(limit: 7) > 0 {}
                let expected = try await inOrder.replicaDump()

                var random = SplitMix(seed: UInt64(seed))
                var arrivals = deliveries
                for _ in 0..<(deliveries.count / 2 + 1) {
                    arrivals.append(deliveries[Int(random.next() % UInt64(deliveries.count))])
                }
                arrivals.shuffle(using: &random)
                let shuffled = try backend.makeDatabase()
                let store = try await shuffled.openStore()
                try await store.registerProjectionsAndRebuildChanged(progress: nil)
                var position = 0
                while position < arrivals.count {
                    let group = Int(random.next() % 5) + 1
                    _ = try await store.append(Array(arrivals[position..<min(arrivals.count, position + group)]))
                    position += group
                    if random.next() % 3 == 0 { while try await store.foldPending(limit: 7) > 0 {} }
                }
                while try await store.foldPending(limit: 7) > 0 {}
                #expect(try await shuffled.replicaDump() == expected)

                _ = try await store.rebuild(projectionNames: nil, progress: nil)
                #expect(try await shuffled.replicaDump() == expected)
            } catch {
                Issue.record(error)
            }
        }
    }

    /// `nexmirror rebuild` while `serve` keeps ingesting the fixtures and a generated history:
    /// no delivery is lost or folded twice, and a second rebuild gives the same replica again,
    /// which is the replica an in-order fold of the same deliveries builds.
    @Test(arguments: Backend.all)
    func rebuildDuringIngestReproducesTheReplica(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        let server = try await database.serve()
        let deliveries = NexudusFixtures.names.map { name in
            (action: NexudusFixtures.action(of: name), body: NexudusFixtures.body(name))
        } + History.deliveries(genes: ContractLogs.generatedGenes).map { (action: $0.action.name, body: $0.body) }
        func deliver(_ range: Range<Int>) async throws {
            for (action, body) in deliveries[range] {
                let answer = try await HTTP.post(
                    "\(server.baseURL)/webhooks/\(action)", body: body,
                    headers: [("X-Nexudus-Hook-Signature", NexudusSignature.sign(body: body, secret: NexudusFixtures.secret))])
                #expect(answer.status == 200, "\(action): \(answer.body)")
            }
        }
        let half = deliveries.count / 2
        try await deliver(0..<half)
        let db = database.db
        let rebuilt = Task.detached { try await CLI.run(["rebuild", "--db", db]) }
        try await deliver(half..<deliveries.count)
        let result = try await rebuilt.value
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.hasPrefix("rebuilt coworkers, bookings"), "\(result.output)")
        try await database.waitUntilFolded()
        await server.stop()
        #expect(try await database.value("SELECT count(*) FROM events") == "\(deliveries.count)")
        let live = try await database.replicaDump()
        #expect(live["coworkers"]?.isEmpty == false)

        let again = try await database.run(["rebuild"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try await database.replicaDump() == live)
        #expect(try await database.value("SELECT count(*) FROM members")
            == database.value("SELECT count(*) FROM coworkers WHERE active = 1 AND archived = 0"))

        let inOrder = try backend.makeDatabase()
        let reference = try await inOrder.openStore()
        try await reference.registerProjectionsAndRebuildChanged(progress: nil)
        for (action, body) in deliveries {
            _ = try await reference.append([
                NewDelivery(action: ActionCatalog.action(named: action)!, body: body, source: .webhook, signature: .raw)
            ])
        }
        while try await reference.foldPending(limit: 50) > 0 {}
        #expect(try await inOrder.replicaDump() == live)
    }
}
