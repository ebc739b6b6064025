import Foundation
import NexMirrorPostgres
import NexMirrorTestSupport
import NexudusFixtures
import Synchronization
import Testing

/// A primary and a synchronous streaming standby on loopback TCP, as an HA deployment runs them
/// (SPEC §6, failover): receivers on a multi-host URL, or behind a TCP proxy that is switched to
/// the promoted standby, lose no acknowledged delivery when the primary goes and recover by
/// themselves once the standby is promoted.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresFailoverTests {
    @Test func hostsAreTriedInOrderAndTargetSessionAttrsPicksTheServer() async throws {
        let pair = try StandbyPair()
        let scratch = Scratch()
        await (try await RunningServer(arguments: ["--db", pair.primaryURL, "--secret-file", scratch.secretFile()])).stop()
        // Replayed on the standby too (a synchronous commit waits for its flush, not its replay).
        try await poll { try PostgresCluster.psql(pair.standbyURL, "SELECT to_regclass('events') IS NOT NULL") == "t" }
        // The standby first in the list: which host each setting keeps.
        for (attributes, inRecovery) in [
            ("any", "t"), ("read-write", "f"), ("primary", "f"), ("standby", "t"), ("prefer-standby", "t"),
            ("read-only", "t"),
        ] {
            let url = pair.url(hosts: [pair.standbyPort, pair.primary.port!], "target_session_attrs=\(attributes)")
            let result = try await CLI.run(["query", "--db", url, "--format", "csv", "SELECT pg_is_in_recovery() AS r"])
            #expect(result.status == 0, "\(attributes): \(result.stderr)")
            #expect(result.output == "r\r\n\(inRecovery == "t" ? "1" : "0")\r\n", "\(attributes): \(result.output)")
        }
        // No host fits: each host's reason, in one line.
        let none = try await CLI.run([
            "query", "--db", pair.url(hosts: [pair.standbyPort], "target_session_attrs=read-write&connect_timeout=2"),
            "SELECT 1 AS one",
        ])
        #expect(none.status != 0)
        #expect(none.stderr.contains("a standby (in recovery), not what target_session_attrs=read-write asks for"), "\(none.stderr)")
        #expect(none.stderr.split(separator: "\n").count == 1, "\(none.stderr)")
        let closed = try PrivateCluster.freePort()
        let refused = try await CLI.run([
            "query", "--db", pair.url(hosts: [closed, pair.standbyPort], "target_session_attrs=primary&connect_timeout=2"),
            "SELECT 1 AS one",
        ])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("127.0.0.1:\(closed): connection refused"), "\(refused.stderr)")
        #expect(refused.stderr.contains("127.0.0.1:\(pair.standbyPort): a standby"), "\(refused.stderr)")
    }

    /// Three receivers on `postgresql://primary,standby/…?target_session_attrs=read-write`, eight
    /// senders retrying as Nexudus does; the primary is crashed (`-m immediate`) a third of the way
    /// in and the standby promoted.
    @Test func aFailoverToTheSynchronousStandbyLosesNoAcknowledgedDelivery() async throws {
        let pair = try StandbyPair()
        let url = pair.url(hosts: [pair.primary.port!, pair.standbyPort], "target_session_attrs=read-write&connect_timeout=2")
        let outcome = try await Self.deliverAcrossAFailover(url: url) {
            try pair.primary.control("crash")
            try pair.promote()
        }
        try await Self.expectNothingLost(outcome, on: pair.standbyURL)
    }

    /// One receiver URL naming a TCP proxy. The old primary turns read-only first (as a demoted
    /// server does) while the proxy still sends the receivers to it, so they meet SQLSTATE 25006;
    /// then the standby is promoted and the proxy switched to it.
    @Test func behindAProxyAReceiverThatMeetsAReadOnlyServerMovesOn() async throws {
        let pair = try StandbyPair()
        let proxy = try TCPProxy(to: pair.primary.port!)
        let url = pair.url(hosts: [proxy.port], "target_session_attrs=read-write&connect_timeout=2")
        let outcome = try await Self.deliverAcrossAFailover(url: url) {
            _ = try PostgresCluster.psql(pair.primaryURL, "ALTER SYSTEM SET default_transaction_read_only = on")
            _ = try PostgresCluster.psql(pair.primaryURL, "SELECT pg_reload_conf()")
            // Sessions already open keep writing until their next transaction reads the setting.
            try await Task.sleep(for: .seconds(1))
            try pair.promote()
            try proxy.switchTo(pair.standbyPort)
        }
        #expect(outcome.answers.contains(503), "the receivers never met the read-only server")
        try await Self.expectNothingLost(outcome, on: pair.standbyURL)
    }

    struct Outcome {
        let acknowledged: Acknowledgements
        let deliveries: Int
        let servers: [RunningServer]
        /// Every status answered, in no order.
        let answers: Set<Int>
        /// From the end of `failover` to the first 200 after it.
        let recovery: Double
    }

    /// Three `serve` on `url` and eight senders, each delivery retried every 100 ms until a 200;
    /// `failover` runs once a third are acknowledged.
    static func deliverAcrossAFailover(url: String, failover: @escaping @Sendable () async throws -> Void) async throws -> Outcome {
        var servers: [RunningServer] = []
        for _ in 0..<3 {
            servers.append(try await RunningServer(arguments: ["--db", url, "--insecure-no-signature", "--lock-timeout", "2"]))
        }
        let members = 30, versions = 8
        let deliveries = (1...members).flatMap { id in (1...versions).map { (id, $0) } }.shuffled()
        let acknowledged = Acknowledgements()
        let log = FailoverLog()
        let urls = servers.map(\.baseURL)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for (index, (id, version)) in deliveries.enumerated() where index % 8 == worker {
                        let body = MultiReceiverCrashTests.body(id: id, version: version)
                        var attempt = 0
                        while true {
                            attempt += 1
                            let answer = try? await HTTP.post("\(urls[(index + attempt) % 3])/webhooks/CoworkerUpdate", body: body)
                            log.answers.withLock { _ = $0.insert(answer?.status ?? 0) }
                            if let answer, answer.status == 200, let seq = answer.json["seq"] as? Int {
                                acknowledged.record(body: body, seq: seq)
                                if let at = log.failedOver.withLock({ $0 }) {
                                    log.firstAfter.withLock { if $0 == nil { $0 = max(Date(), at) } }
                                }
                                // A lost answer: Nexudus sends it again, maybe across the failover.
                                if index % 5 == 0,
                                    let again = try? await HTTP.post("\(urls[(index + 2) % 3])/webhooks/CoworkerUpdate", body: body),
                                    again.status == 200, let seq = again.json["seq"] as? Int {
                                    acknowledged.record(body: body, seq: seq)
                                }
                                break
                            }
                            #expect(attempt < 1200, "delivery never acknowledged")
                            if attempt >= 1200 { break }
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }
                }
            }
            group.addTask {
                try await poll(timeout: 120) { acknowledged.count >= deliveries.count / 3 }
                try await failover()
                log.failedOver.withLock { $0 = Date() }
            }
            try await group.waitForAll()
        }
        let recovery = log.firstAfter.withLock { $0 }.map { at in at.timeIntervalSince(log.failedOver.withLock { $0 }!) } ?? -1
        return Outcome(
            acknowledged: acknowledged, deliveries: deliveries.count, servers: servers, answers: log.answers.withLock { $0 },
            recovery: recovery)
    }

    /// Every acknowledged delivery in the new primary's log once, at the seq it was acknowledged
    /// with; the log without holes; the replica converged; `check` holds; every receiver up.
    static func expectNothingLost(_ outcome: Outcome, on url: String) async throws {
        #expect(outcome.acknowledged.conflicts.isEmpty, "a redelivery got another seq")
        let logged = try PostgresCluster.psql(url, "SELECT body_sha256, seq FROM events ORDER BY seq")
            .split(separator: "\n").map { $0.split(separator: "|") }
        let seqs = Dictionary(logged.map { (String($0[0]), Int($0[1])!) }, uniquingKeysWith: { _, _ in -1 })
        #expect(logged.count == outcome.deliveries)
        #expect(seqs.count == logged.count)
        for (hash, seq) in outcome.acknowledged.seqs { #expect(seqs[hash] == seq, "acknowledged delivery lost or moved") }
        #expect(try PostgresCluster.psql(url, "SELECT count(*) = max(seq) FROM events") == "t")
        // Seconds, not minutes: postgres-nio's own reconnection backs off up to 60 s.
        #expect(outcome.recovery >= 0 && outcome.recovery < 30, "first 200 \(outcome.recovery) s after the failover")
        print("failover: first 200 \(String(format: "%.2f", outcome.recovery)) s after the new primary took writes")
        try await waitUntilFolded(url)
        let names = try PostgresCluster.psql(url, "SELECT id, full_name FROM coworkers ORDER BY id")
        #expect(names == (1...30).map { "\($0)|Member \($0) v8" }.joined(separator: "\n"))
        let check = try await CLI.run(["check", "--db", url])
        #expect(check.status == 0, "\(check.output) \(check.stderr)")
        for server in outcome.servers {
            #expect(server.process.isRunning)
            #expect(try await HTTP.get("\(server.baseURL)/readyz").status == 200)
        }
    }
}

/// What the senders saw, shared between them.
final class FailoverLog: Sendable {
    let answers = Mutex<Set<Int>>([])
    let failedOver = Mutex<Date?>(nil)
    let firstAfter = Mutex<Date?>(nil)
}

/// A private primary listening on loopback TCP and a streaming standby of it that the primary
/// waits for at every commit (`scripts/pg standby`, NEXMIRROR_PG_SYNC=on).
final class StandbyPair: @unchecked Sendable {
    let primary: PrivateCluster
    let standbyDirectory: String
    let standbyPort: Int

    init() throws {
        primary = try PrivateCluster(tcp: true)
        standbyPort = try PrivateCluster.freePort()
        let script = NexudusFixtures.packageRoot.appendingPathComponent("scripts/pg").path
        let started = try #require(PostgresCluster.spawnAndWait(
            [script, "standby", primary.directory],
            environment: ["NEXMIRROR_PG_PORT": "\(standbyPort)", "NEXMIRROR_PG_SYNC": "on"]))
        try #require(started.status == 0, "scripts/pg standby: \(started.errors)")
        standbyDirectory = try #require(started.output.firstMatch(of: /NEXMIRROR_PG_DIR='([^']*)'/).map { String($0.1) })
    }

    var primaryURL: String { url(hosts: [primary.port!], "") }
    var standbyURL: String { url(hosts: [standbyPort], "") }

    /// A multi-host URL over TCP to these loopback ports, in this order.
    func url(hosts ports: [Int], _ parameters: String) -> String {
        "postgresql://\(NSUserName())@\(ports.map { "127.0.0.1:\($0)" }.joined(separator: ","))/nexmirror"
            + (parameters.isEmpty ? "" : "?\(parameters)")
    }

    func promote() throws { try PrivateCluster.control("promote", directory: standbyDirectory) }

    deinit {
        _ = PostgresCluster.spawnAndWait(
            [NexudusFixtures.packageRoot.appendingPathComponent("scripts/pg").path, "stop", standbyDirectory])
    }
}

/// A TCP proxy on a free loopback port (Python's asyncio), as HAProxy in front of a primary: each
/// new connection goes to the backend named in a file, so switching it leaves connections already
/// open where they are.
final class TCPProxy: @unchecked Sendable {
    let port: Int
    private let process: ChildProcess
    private let backendFile: String

    init(to backend: Int) throws {
        port = try PrivateCluster.freePort()
        backendFile = FileManager.default.temporaryDirectory.appendingPathComponent("proxy-\(UUID().uuidString)").path
        try "\(backend)".write(toFile: backendFile, atomically: true, encoding: .utf8)
        process = try ChildProcess("/usr/bin/env", ["python3", "-c", Self.script, "\(port)", backendFile])
        let port = port
        try #require(try pollBlocking { (try? RawTCP.canConnect(port: port)) == true }, "the proxy did not start")
    }

    func switchTo(_ backend: Int) throws { try "\(backend)".write(toFile: backendFile, atomically: true, encoding: .utf8) }

    deinit {
        process.signal(SIGKILL)
        process.exitBlocking()
        try? FileManager.default.removeItem(atPath: backendFile)
    }

    static let script = """
        import asyncio, sys
        port, backend_file = int(sys.argv[1]), sys.argv[2]
        async def pipe(reader, writer):
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except Exception:
                pass
            finally:
                writer.close()
        async def accept(client_reader, client_writer):
            backend = int(open(backend_file).read())
            try:
                server_reader, server_writer = await asyncio.open_connection("127.0.0.1", backend)
            except Exception:
                client_writer.close()
                return
            await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))
        async def main():
            server = await asyncio.start_server(accept, "127.0.0.1", port)
            async with server:
                await server.serve_forever()
        asyncio.run(main())
        """
}

/// Polls `condition` on this thread for up to 10 s.
func pollBlocking(_ condition: () throws -> Bool) throws -> Bool {
    let deadline = Date().addingTimeInterval(10)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return false
}

enum RawTCP {
    static func canConnect(port: Int) throws -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// Multi-host URLs and `target_session_attrs`, read as libpq reads them.
@Suite struct PostgresMultiHostURLTests {
    @Test func hostsAndPortsPairAsInLibpq() throws {
        let listed = try PostgresURL("postgresql://u@h1:5432,h2:5433,[::1]:5434/db?target_session_attrs=read-write&connect_timeout=2", environment: [:])
        #expect(listed.endpoints == [.tcp(host: "h1", port: 5432), .tcp(host: "h2", port: 5433), .tcp(host: "::1", port: 5434)])
        #expect(listed.targetSessionAttributes == .readWrite)
        #expect(listed.connectTimeout == .seconds(2))
        #expect(listed.database == "db")
        #expect(listed.username == "u")
        #expect(listed.description == "PostgreSQL database db as u on h1:5432,h2:5433,[::1]:5434 (sslmode=prefer) (target_session_attrs=read-write)")
        // One port for every host, in the authority or as a parameter; default 5432.
        #expect(try PostgresURL("postgresql://u@h1,h2/db", environment: [:]).endpoints == [.tcp(host: "h1", port: 5432), .tcp(host: "h2", port: 5432)])
        #expect(try PostgresURL("postgresql://u@/db?host=h1,h2&port=6000", environment: [:]).endpoints
            == [.tcp(host: "h1", port: 6000), .tcp(host: "h2", port: 6000)])
        #expect(try PostgresURL("postgresql://u@/db?host=h1,h2&port=6000,6001", environment: [:]).endpoints
            == [.tcp(host: "h1", port: 6000), .tcp(host: "h2", port: 6001)])
        // Unix-socket directories among them, percent-encoded in the authority too.
        #expect(try PostgresURL("postgresql:///db?host=/run/a,h2&port=5432,5433", environment: [:]).endpoints
            == [.socket(path: "/run/a/.s.PGSQL.5432"), .tcp(host: "h2", port: 5433)])
        #expect(try PostgresURL("postgresql://%2Frun%2Fa,h2/db", environment: [:]).endpoints
            == [.socket(path: "/run/a/.s.PGSQL.5432"), .tcp(host: "h2", port: 5432)])
        // A single host reads as it always did.
        let single = try PostgresURL("postgresql://u:secret@db.example:6543/x", environment: [:])
        #expect(single.endpoints == [.tcp(host: "db.example", port: 6543)])
        #expect(single.password == "secret")
        #expect(single.targetSessionAttributes == .any)
        #expect(!single.description.contains("secret"))
        #expect(try PostgresURL("postgresql:///x", environment: ["PGHOST": "/tmp/s"]).endpoints == [.socket(path: "/tmp/s/.s.PGSQL.5432")])
    }

    @Test func everyTargetSessionAttrsOfLibpqIsKnownAndOthersAreRefused() throws {
        for attributes in ["any", "read-write", "primary", "read-only", "standby", "prefer-standby"] {
            let url = try PostgresURL("postgresql://u@h1,h2/db?target_session_attrs=\(attributes)", environment: [:])
            #expect(url.targetSessionAttributes.rawValue == attributes)
        }
        #expect(try PostgresURL("postgresql://u@h/db", environment: ["PGTARGETSESSIONATTRS": "primary"]).targetSessionAttributes == .primary)
        for bad in [
            "postgresql://u@h1,h2/db?target_session_attrs=writable", "postgresql://u@/db?host=a,b,c&port=1,2",
            "postgresql://u@h1:99999/db", "postgresql://u@h/db?connect_timeout=soon", "postgresql://u@[::1/db",
        ] {
            #expect(throws: PostgresURL.ParseError.self, "\(bad)") { try PostgresURL(bad, environment: [:]) }
        }
        // libpq: 0 waits for ever, under 2 s is taken as 2.
        #expect(try PostgresURL("postgresql://u@h/db?connect_timeout=1", environment: [:]).connectTimeout == .seconds(2))
    }
}
