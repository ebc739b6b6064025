import Foundation
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// `nexmirror serve --db postgresql://…` where PostgreSQL differs from SQLite: no default secret
/// file, several receivers on one log, PostgreSQL going down and coming back. Every HTTP outcome
/// of SPEC §3 is in Tests/ContractTests, on both backends.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresReceiverTests {
    static func serve(_ url: String, _ extra: [String] = [], secret: Bool = true) async throws -> (RunningServer, Scratch) {
        let scratch = Scratch()
        let arguments = ["--db", url] + (secret ? ["--secret-file", scratch.secretFile()] : []) + extra
        return (try await RunningServer(arguments: arguments), scratch)
    }

    @Test func withoutASecretServeRefusesToStart() async throws {
        let url = try PostgresCluster.makeDatabase()
        let result = try await CLI.run(["serve", "--db", url, "--port", "0"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("no secret"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func signAndVerifyTakeTheSecretFromTheFileOrEnvironmentOnPostgreSQL() async throws {
        let url = try PostgresCluster.makeDatabase()
        let body = NexudusFixtures.body("CoworkerCreate")
        // No file beside a PostgreSQL database to fall back on: the line says where a secret goes.
        for arguments in [["sign"], ["verify", "--signature", String(repeating: "A", count: 64)]] {
            let refused = try await CLI.run(arguments + ["--db", url], stdin: body)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("on PostgreSQL pass --secret-file"), "\(refused.stderr)")
            #expect(!refused.stderr.contains("does not run on PostgreSQL"), "\(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1)
        }
        let scratch = Scratch()
        let signed = try await CLI.run(["sign", "--db", url, "--secret-file", scratch.secretFile()], stdin: body)
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(signed.output == NexudusFixtures.signature("CoworkerCreate") + "\n")
        let fromEnvironment = try await CLI.run(
            ["sign", "--db", url], stdin: body, environment: ["NEXMIRROR_SECRET": NexudusFixtures.secret])
        #expect(fromEnvironment.output == signed.output, "\(fromEnvironment.stderr)")
    }

    @Test func aRedeliveryToAnotherReceiverIsADuplicate() async throws {
        let url = try PostgresCluster.makeDatabase()
        let (first, _) = try await Self.serve(url)
        let (second, _) = try await Self.serve(url)
        let a = try await HTTP.deliver("CoworkerUpdate", to: first)
        let b = try await HTTP.deliver("CoworkerUpdate", to: second)
        #expect(a.json["duplicate"] as? Bool == false)
        #expect(b.json["duplicate"] as? Bool == true)
        #expect(b.json["seq"] as? Int == a.json["seq"] as? Int)
    }

    /// A receiver rides out a PostgreSQL restart: 503 while it is down, 200 again once it is
    /// back, same process. On a cluster of its own, so other suites keep theirs.
    @Test func whilePostgreSQLIsDownDeliveriesAre503ThenAcceptedAgain() async throws {
        let cluster = try PrivateCluster()
        let (server, _) = try await Self.serve(cluster.url, ["--lock-timeout", "2"])
        #expect(try await HTTP.deliver("CoworkerCreate", to: server).status == 200)
        try cluster.control("crash")
        let refused = try await HTTP.deliver("CoworkerUpdate", to: server)
        #expect(refused.status == 503)
        #expect(try await HTTP.get("\(server.baseURL)/readyz").status == 503)
        try cluster.control("restart")
        try await poll(timeout: 60) { try await HTTP.deliver("CoworkerUpdate", to: server).status == 200 }
        #expect(try await HTTP.get("\(server.baseURL)/readyz").status == 200)
        #expect(try PostgresCluster.psql(cluster.url, "SELECT action FROM events ORDER BY seq") == "CoworkerCreate\nCoworkerUpdate")
        #expect(server.process.isRunning)
    }
}

/// Polls `condition` until it holds or `timeout` seconds pass.
func poll(timeout: Double = 180, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("condition not met within \(timeout) s")
}

/// Waits until every projection's checkpoint reaches the end of the log.
func waitUntilFolded(_ url: String) async throws {
    try await poll {
        try PostgresCluster.psql(url, "SELECT (SELECT last_seq FROM log_head) = (SELECT min(checkpoint) FROM projections)")
            == "t"
    }
}

/// A cluster of the test's own (scripts/pg start), stopped when the value goes away.
final class PrivateCluster {
    /// On its unix socket.
    let url: String
    let directory: String
    /// The loopback port it also listens on, if asked for one.
    let port: Int?
    /// The CA that signed its server certificate, with `tls`.
    let certificateAuthority: String?

    /// With `tcp`, it also listens on a free port of 127.0.0.1; with `tls`, there with `ssl = on`
    /// and a server certificate for `names` (openssl's subjectAltName).
    init(tcp: Bool = false, tls: Bool = false, names: String = "DNS:localhost,IP:127.0.0.1") throws {
        let script = NexudusFixtures.packageRoot.appendingPathComponent("scripts/pg").path
        let port = tcp || tls ? try Self.freePort() : nil
        var environment: [String: String] = [:]
        if let port { environment["NEXMIRROR_PG_PORT"] = "\(port)" }
        if tls { environment["NEXMIRROR_PG_TLS"] = "on"; environment["NEXMIRROR_PG_TLS_NAMES"] = names }
        var started = try #require(PostgresCluster.spawnAndWait([script, "start"], environment: environment))
        if started.status != 0 {
            started = try #require(PostgresCluster.spawnAndWait([script, "start"], environment: environment))
        }
        try #require(started.status == 0, "scripts/pg start: \(started.errors)")
        var exports: [String: String] = [:]
        for match in started.output.matches(of: /(NEXMIRROR_PG_\w+)='([^']*)'/) { exports[String(match.1)] = String(match.2) }
        url = try #require(exports["NEXMIRROR_PG_URL"])
        directory = try #require(exports["NEXMIRROR_PG_DIR"])
        certificateAuthority = exports["NEXMIRROR_PG_CA"]
        self.port = port
    }

    /// A `postgresql://` URL over TCP to `host` (127.0.0.1 or localhost) with these query parameters.
    func tcpURL(host: String = "127.0.0.1", database: String = "nexmirror", _ parameters: String) -> String {
        "postgresql://\(NSUserName())@\(host):\(port ?? 5432)/\(database)?\(parameters)"
    }

    /// A port of 127.0.0.1 nobody listens on now (the kernel's pick, released at once).
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func control(_ verb: String) throws { try Self.control(verb, directory: directory) }

    static func control(_ verb: String, directory: String) throws {
        // restart starts the daemon: see spawnAndWait.
        let result = try #require(PostgresCluster.spawnAndWait(
            [NexudusFixtures.packageRoot.appendingPathComponent("scripts/pg").path, verb, directory]))
        try #require(result.status == 0, "scripts/pg \(verb): \(result.errors)")
    }

    deinit {
        _ = PostgresCluster.spawnAndWait([NexudusFixtures.packageRoot.appendingPathComponent("scripts/pg").path, "stop", directory])
    }
}

/// `query --param` on PostgreSQL: named parameters become `$1`…, never inside a string literal or
/// a `::` cast, and a name used twice is one parameter. What query prints is compared with SQLite
/// in Tests/ContractTests.
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresQueryParameterTests {
    @Test func namedParametersSkipCastsAndStringLiterals() async throws {
        let url = try PostgresCluster.makeDatabase()
        let scratch = Scratch()
        let file = scratch.path("fixtures.jsonl")
        try Data((NexudusFixtures.importLines().joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: file))
        let imported = try await CLI.run(["import", "--db", url, file])
        #expect(imported.status == 0, "\(imported.stderr)")
        let bound = try await CLI.run(["query", "--db", url, "--format", "csv", "--param", "id=1", "SELECT id::text || ':id' AS x FROM coworkers WHERE 1 = :id LIMIT 1"])
        #expect(bound.status == 0, "\(bound.stderr)")
        #expect(bound.output.hasSuffix(":id\r\n"))
        let twice = try await CLI.run(["query", "--db", url, "--format", "csv", "--param", "low=1", "SELECT count(*) AS n FROM coworkers WHERE id >= :low AND id + 0 >= :low"])
        #expect(twice.status == 0, "\(twice.stderr)")
        #expect(twice.output == "n\r\n2\r\n")
    }
}
