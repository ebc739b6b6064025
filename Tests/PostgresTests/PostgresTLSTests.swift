import Foundation
import NexMirrorPostgres
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// `sslmode` as libpq reads it, against clusters of the tests' own listening on a loopback port
/// (scripts/pg with NEXMIRROR_PG_TLS=on: a CA and a server certificate for localhost and
/// 127.0.0.1 made with openssl).
@Suite(.enabled(if: PostgresCluster.available, PostgresCluster.unavailable))
struct PostgresTLSTests {
    /// `serve` takes deliveries and folds them, and `query` reads them, over TLS; PostgreSQL
    /// itself says the connections are encrypted and which command opened them.
    @Test(arguments: [("require", "127.0.0.1"), ("verify-full", "localhost"), ("verify-full", "127.0.0.1")])
    func serveAndQueryRunOverTLS(mode: String, host: String) async throws {
        let cluster = try PrivateCluster(tls: true)
        let authority = try #require(cluster.certificateAuthority)
        let url = cluster.tcpURL(host: host, "sslmode=\(mode)&sslrootcert=\(authority)")
        let (server, _) = try await PostgresReceiverTests.serve(url)
        for name in ["CoworkerCreate", "CoworkerUpdate"] {
            #expect(try await HTTP.deliver(name, to: server).status == 200)
        }
        try await waitUntilFolded(cluster.url)
        let encrypted = try PostgresCluster.psql(cluster.url, """
            SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
            WHERE a.application_name = 'nexmirror serve'
            """)
        #expect(encrypted == "t")
        let query = try await CLI.run(["query", "--db", url, "--format", "csv", "SELECT count(*) AS n FROM coworkers"])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.output == "n\r\n\(try PostgresCluster.psql(cluster.url, "SELECT count(*) FROM coworkers"))\r\n")
        #expect(await server.stop() == 0)
    }

    /// A CA that did not sign the server's certificate: no connection, one line saying why.
    @Test func verifyFullWithAnotherCAFailsInOneLine() async throws {
        let cluster = try PrivateCluster(tls: true)
        let scratch = Scratch()
        let other = scratch.path("other-ca.crt")
        let made = try PostgresCluster.shell([
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=another CA",
            "-keyout", scratch.path("other-ca.key"), "-out", other,
        ])
        try #require(made.status == 0, "openssl: \(made.stderr)")
        // require checks the certificate too once a root certificate file is there, as libpq does.
        for mode in ["verify-full", "verify-ca", "require"] {
            let result = try await CLI.run(
                ["query", "--db", cluster.tcpURL("sslmode=\(mode)&sslrootcert=\(other)"), "SELECT 1"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("the server's certificate failed verification against \(other)"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
    }

    /// A certificate for another host name: verify-ca (the chain only) connects, verify-full
    /// (the name too) refuses in one line.
    @Test func verifyFullChecksTheHostNameAndVerifyCADoesNot() async throws {
        let cluster = try PrivateCluster(tls: true, names: "DNS:db.example")
        let authority = try #require(cluster.certificateAuthority)
        let scratch = Scratch()
        await (try await RunningServer(arguments: ["--db", cluster.url, "--secret-file", scratch.secretFile()])).stop()
        let chainOnly = try await CLI.run(
            ["query", "--db", cluster.tcpURL("sslmode=verify-ca&sslrootcert=\(authority)"), "--format", "csv", "SELECT 1 AS one"])
        #expect(chainOnly.status == 0, "\(chainOnly.stderr)")
        #expect(chainOnly.output == "one\r\n1\r\n")
        let named = try await CLI.run(
            ["query", "--db", cluster.tcpURL("sslmode=verify-full&sslrootcert=\(authority)"), "SELECT 1 AS one"])
        #expect(named.status != 0)
        #expect(named.stderr.contains("the server's certificate does not name the host connected to"), "\(named.stderr)")
        #expect(named.stderr.split(separator: "\n").count == 1, "\(named.stderr)")
    }

    /// verify-full without its root certificate file is refused before anything is sent.
    @Test func aMissingRootCertificateFileFailsInOneLine() async throws {
        let cluster = try PrivateCluster(tls: true)
        let result = try await CLI.run(
            ["status", "--db", cluster.tcpURL("sslmode=verify-full&sslrootcert=/nonexistent/root.crt")])
        #expect(result.status != 0)
        #expect(result.stderr.contains("root certificate file /nonexistent/root.crt does not exist"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    /// A server without `ssl = on`: require fails in one line; prefer (libpq's default) falls
    /// back to plain TCP.
    @Test func requireAgainstAServerWithoutTLSFailsInOneLine() async throws {
        let cluster = try PrivateCluster(tcp: true)
        let required = try await CLI.run(["query", "--db", cluster.tcpURL("sslmode=require"), "SELECT 1 AS one"])
        #expect(required.status != 0)
        #expect(required.stderr.contains("the server does not accept TLS, which sslmode=require requires"), "\(required.stderr)")
        #expect(required.stderr.split(separator: "\n").count == 1, "\(required.stderr)")
        let scratch = Scratch()
        await (try await RunningServer(arguments: ["--db", cluster.url, "--secret-file", scratch.secretFile()])).stop()
        let preferred = try await CLI.run(["query", "--db", cluster.tcpURL(""), "--format", "csv", "SELECT 1 AS one"])
        #expect(preferred.status == 0, "\(preferred.stderr)")
        #expect(preferred.output == "one\r\n1\r\n")
    }

    /// The URL's TLS parameters, read as libpq reads them.
    @Test func sslModeIsReadAsLibpqReadsIt() throws {
        let plain = try PostgresURL("postgresql://u@db.example/x", environment: [:])
        #expect(plain.sslMode == .prefer)
        #expect(plain.rootCertificate.hasSuffix("/.postgresql/root.crt"))
        #expect(plain.applicationName == "nexmirror")
        let fromEnvironment = try PostgresURL(
            "postgresql://u@db.example/x", environment: ["PGSSLMODE": "verify-ca", "PGSSLROOTCERT": "/etc/ca.crt"],
            fallbackApplicationName: "nexmirror check")
        #expect(fromEnvironment.sslMode == .verifyCA)
        #expect(fromEnvironment.rootCertificate == "/etc/ca.crt")
        #expect(fromEnvironment.applicationName == "nexmirror check")
        let named = try PostgresURL("postgresql://u@db.example/x?application_name=etl&sslmode=disable", environment: [:])
        #expect(named.applicationName == "etl")
        #expect(named.sslMode == .disable)
        #expect(try PostgresURL("postgresql://u@db.example/x?sslrootcert=system", environment: [:]).sslMode == .verifyFull)
        #expect(throws: PostgresURL.ParseError.self) {
            try PostgresURL("postgresql://u@db.example/x?sslmode=verify", environment: [:])
        }
        #expect(throws: PostgresURL.ParseError.self) {
            try PostgresURL("postgresql://u@db.example/x?sslmode=require&sslrootcert=system", environment: [:])
        }
    }
}
