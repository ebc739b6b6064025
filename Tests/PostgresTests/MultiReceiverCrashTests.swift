import Foundation
import NexMirrorCore
import NexMirrorStore
import NexMirrorTestSupport
import Synchronization
import Testing

/// Three receivers on one PostgreSQL database, deliveries and their retries spread across them,
/// one receiver killed with SIGKILL and PostgreSQL itself crashed and restarted mid-run: every
/// acknowledged delivery is in the log exactly once and the replica converges.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct MultiReceiverCrashTests {
    /// A CoworkerUpdate of member `id` at version `version` (distinct bodies, distinct deliveries).
    static func body(id: Int, version: Int) -> [UInt8] {
        let updatedOn = String(format: "2026-03-01T10:%02d:%02d.%07dZ", version / 60 % 60, version % 60, version * 13 % 10_000_000)
        return Array("""
            [{"Id":\(id),"UniqueId":"u-\(id)","FullName":"Member \(id) v\(version)","Email":"m\(id)@example.com",\
            "Active":true,"Archived":false,"CoworkerType":1,"UpdatedOn":"\(updatedOn)","CreatedOn":"2026-01-01T00:00:00Z"}]
            """.utf8)
    }

    @Test func everyAcknowledgedDeliveryIsLoggedOnceAndTheReplicaConverges() async throws {
        let cluster = try PrivateCluster()
        var servers: [RunningServer] = []
        for _ in 0..<3 {
            servers.append(try await RunningServer(arguments: ["--db", cluster.url, "--insecure-no-signature", "--lock-timeout", "2"]))
        }
        let members = 40
        let versions = 8
        // Each (member, version) once, in a random order; Nexudus retries until a 2xx.
        let deliveries = (1...members).flatMap { id in (1...versions).map { (id, $0) } }.shuffled()
        let acknowledged = Acknowledgements()
        let killed = Flag()
        let urls = servers.map(\.baseURL)
        let victim = servers[1].process.pid
        let clusterURL = cluster.url, clusterDirectory = cluster.directory

        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for (index, (id, version)) in deliveries.enumerated() where index % 8 == worker {
                        let body = Self.body(id: id, version: version)
                        var attempt = 0
                        while true {
                            attempt += 1
                            // A retry goes wherever the load balancer sends it.
                            let target = (index + attempt) % 3
                            if target == 1, killed.isSet { continue }
                            let answer = try? await HTTP.post("\(urls[target])/webhooks/CoworkerUpdate", body: body)
                            if let answer, answer.status == 200, let seq = answer.json["seq"] as? Int {
                                acknowledged.record(body: body, seq: seq)
                                // Sometimes Nexudus retries even after a 200 (a lost answer).
                                if attempt == 1, index % 5 == 0 {
                                    let again = try? await HTTP.post(
                                        "\(urls[(index + 2) % 3])/webhooks/CoworkerUpdate", body: body)
                                    if let again, again.status == 200, let seq = again.json["seq"] as? Int {
                                        acknowledged.record(body: body, seq: seq)
                                    }
                                }
                                break
                            }
                            #expect(attempt < 600, "delivery never acknowledged")
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }
                }
            }
            group.addTask {
                try await poll(timeout: 60) { acknowledged.count >= deliveries.count / 4 }
                killed.set()
                kill(victim, SIGKILL)
                try await poll(timeout: 60) { acknowledged.count >= deliveries.count / 2 }
                try PrivateCluster.control("crash", directory: clusterDirectory)
                try await Task.sleep(for: .seconds(1))
                try PrivateCluster.control("restart", directory: clusterDirectory)
            }
            try await group.waitForAll()
        }

        // Every acknowledged delivery exactly once, at the seq it was acknowledged with.
        #expect(acknowledged.conflicts.isEmpty)
        let logged = try PostgresCluster.psql(clusterURL, "SELECT body_sha256, seq FROM events ORDER BY seq")
            .split(separator: "\n").map { $0.split(separator: "|") }
        let loggedSeqs = Dictionary(logged.map { (String($0[0]), Int($0[1])!) }, uniquingKeysWith: { _, _ in -1 })
        #expect(logged.count == deliveries.count)
        #expect(loggedSeqs.count == logged.count)
        for (hash, seq) in acknowledged.seqs { #expect(loggedSeqs[hash] == seq) }
        #expect(try PostgresCluster.psql(clusterURL, "SELECT count(*) = max(seq) FROM events") == "t")

        // The replica converges: each member at its greatest version, folded exactly once.
        try await waitUntilFolded(clusterURL)
        let names = try PostgresCluster.psql(clusterURL, "SELECT id, full_name FROM coworkers ORDER BY id")
        #expect(names == (1...members).map { "\($0)|Member \($0) v\(versions)" }.joined(separator: "\n"))
        for server in [servers[0], servers[2]] { #expect(server.process.isRunning) }
    }
}

/// What the receivers acknowledged: body hash → seq, and any hash acknowledged with two seqs.
final class Acknowledgements: Sendable {
    private let state = Mutex<(seqs: [String: Int], conflicts: [String])>(([:], []))

    func record(body: [UInt8], seq: Int) {
        // The log's own hash, as the receiver computes it.
        let hash = NewDelivery(
            action: ActionCatalog.action(named: "CoworkerUpdate")!, body: body, source: .webhook, signature: .raw
        ).bodySHA256
        state.withLock { state in
            if let known = state.seqs[hash], known != seq { state.conflicts.append(hash) }
            state.seqs[hash] = seq
        }
    }

    var count: Int { state.withLock { $0.seqs.count } }
    var seqs: [String: Int] { state.withLock { $0.seqs } }
    var conflicts: [String] { state.withLock { $0.conflicts } }
}

final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
