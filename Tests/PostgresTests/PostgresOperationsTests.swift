import Foundation
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// `check` and `backup` on `--db postgresql://…`, and the batched rebuild against `check`. `history`
/// compared with SQLite is in Tests/ContractTests.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresOperationsTests {
    /// A clean store passes; then each kind of damage is one finding line and exit 1, and
    /// deliveries not folded yet are lag, not findings.
    @Test func checkFindsDamageOnPostgreSQL() async throws {
        let url = try PostgresCluster.makeDatabase()
        let (server, _) = try await PostgresReceiverTests.serve(url)
        for name in NexudusFixtures.names { #expect(try await HTTP.deliver(name, to: server).status == 200) }
        try await waitUntilFolded(url)
        await server.stop()

        let clean = try await CLI.run(["check", "--db", url])
        #expect(clean.status == 0, "\(clean.output)\(clean.stderr)")
        #expect(clean.output.contains("checked \(NexudusFixtures.names.count) events"), "\(clean.output)")
        #expect(clean.output.contains(": no findings"), "\(clean.output)")

        // Damage: a body changed, a replica row lost, another row altered, the log cut short
        // of a checkpoint. The log's own rows are altered as an operator with psql could.
        let coworker = try PostgresCluster.psql(url, "SELECT min(id) FROM coworkers")
        let booking = try PostgresCluster.psql(url, "SELECT min(id) FROM bookings")
        _ = try PostgresCluster.psql(url, "UPDATE events SET body = body || '\\x20'::bytea WHERE seq = 2")
        _ = try PostgresCluster.psql(url, "DELETE FROM coworkers WHERE id = \(coworker)")
        _ = try PostgresCluster.psql(url, "UPDATE bookings SET data = data || ' ' WHERE id = \(booking)")
        let last = try PostgresCluster.psql(url, "SELECT last_seq FROM log_head")
        _ = try PostgresCluster.psql(url, "UPDATE projections SET checkpoint = \(Int(last)! + 5) WHERE name = 'teams'")
        let damaged = try await CLI.run(["check", "--db", url])
        #expect(damaged.status == 1, "\(damaged.output)\(damaged.stderr)")
        let lines = damaged.output.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("events: seq 2: body does not match its body_sha256") }, "\(lines)")
        #expect(lines.contains("coworkers: 1 row missing from the replica but in a fresh fold of the log (id=\(coworker))"), "\(lines)")
        #expect(lines.contains("bookings: 1 row different from a fresh fold of the log (id=\(booking))"), "\(lines)")
        #expect(lines.contains("projections: teams's checkpoint \(Int(last)! + 5) is above the last seq of the log (\(last))"), "\(lines)")
        #expect(lines.last?.hasSuffix(": 4 findings") == true, "\(lines)")
        // check only reads: the damage is still there.
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM coworkers WHERE id = \(coworker)") == "0")
        #expect(try PostgresCluster.psql(url, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%__check'") == "0")
    }

    @Test func backupRefusesInOneLineThatPointsToPgDump() async throws {
        let url = try PostgresCluster.makeDatabase()
        let scratch = Scratch()
        await (try await RunningServer(arguments: ["--db", url, "--secret-file", scratch.secretFile()])).stop()
        let result = try await CLI.run(["backup", "--db", url, scratch.path("copy.sqlite")])
        #expect(result.status != 0)
        #expect(result.stderr.contains("pg_dump"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("copy.sqlite")))
    }

    /// The batched rebuild writes only each entity's end state per batch: on logs where one
    /// entity's versions and deletes arrive in any order, it must give what the per-delivery
    /// live fold gave, and `check` must agree.
    @Test func aBatchedRebuildEqualsTheLiveFoldInAnyOrder() async throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3 {
            let url = try PostgresCluster.makeDatabase()
            let store = try await PostgresStoreTests.open(url)
            defer { store.close() }
            try await store.registerProjections()
            var order = NexudusFixtures.names + NexudusFixtures.names.shuffled(using: &generator).prefix(10)
            order.shuffle(using: &generator)
            // Redeliveries collapse into duplicates; what varies is the order of each entity's versions.
            for name in order { _ = try await store.append([PostgresStoreTests.delivery(name)]) }
            while try await store.foldPending(limit: 5) > 0 {}
            let live = try PostgresStoreTests.replicaDump(url)
            _ = try await store.rebuild(projectionNames: nil, progress: nil)
            #expect(try PostgresStoreTests.replicaDump(url) == live)
            let check = try await CLI.run(["check", "--db", url])
            #expect(check.status == 0, "\(check.output)\(check.stderr)")
        }
    }
}
