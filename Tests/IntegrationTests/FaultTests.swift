import Foundation
import GRDB
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// Real faults under the live server: a full disk, failing fsyncs and a file system that turns
/// read-only. Each must give 503 (never 200) and `/readyz` 503 while it lasts, 200 again once
/// it clears without a restart, and lose nothing acknowledged when the process is then killed.
///
/// Needs root (tests run as root on CI), `mount` for a small tmpfs and `strace` for injection.
@Suite(.serialized, .enabled(if: Faults.available, "needs root, mount and strace"))
struct FaultTests {
    @Test func fullDiskGives503UntilSpaceIsFreed() async throws {
        let scratch = Scratch()
        let disk = try SmallDisk(scratch.path("disk"), megabytes: 3)
        let server = try await RunningServer(arguments: ["--db", disk.path("mirror.sqlite"), "--insecure-no-signature"])
        var log = Acknowledged(server: server)
        for index in 0..<3 { try await log.deliver(index, padding: 1000) }

        let filler = disk.path("filler")
        try Faults.fill(filler)
        var refused = 0
        for index in 10..<20 where try await log.deliver(index, padding: 50_000) == 503 { refused += 1 }
        #expect(refused == 10, "a delivery was acknowledged on a full disk")
        #expect(try await HTTP.get("\(server.baseURL)/readyz").status == 503)

        try FileManager.default.removeItem(atPath: filler)
        #expect(try await HTTP.get("\(server.baseURL)/readyz").status == 200)
        for index in 10..<13 { #expect(try await log.deliver(index, padding: 50_000) == 200) }
        try await log.killAndCheck(database: disk.path("mirror.sqlite"))
    }

    /// EIO on fsync, and EROFS on every write as a file system turned read-only gives it (Linux
    /// refuses to remount one read-only while a file on it is open for writing, so the errors
    /// are injected as the kernel would report them).
    @Test(arguments: ["fsync,fdatasync:error=EIO", "pwrite64,fsync,fdatasync:error=EROFS"])
    func failingWritesGive503UntilTheyHeal(faults: String) async throws {
        let scratch = Scratch()
        let server = try await RunningServer(arguments: ["--db", scratch.path("mirror.sqlite"), "--insecure-no-signature"])
        var log = Acknowledged(server: server)
        for index in 0..<3 { try await log.deliver(index) }

        let injection = try Injection(pid: server.process.pid, faults: faults)
        for index in 10..<13 { #expect(try await log.deliver(index) == 503) }
        #expect(try await HTTP.get("\(server.baseURL)/readyz").status == 503)
        #expect(injection.stop() > 0, "no system call was failed")

        #expect(try await HTTP.get("\(server.baseURL)/readyz").status == 200)
        for index in 10..<13 { #expect(try await log.deliver(index) == 200) }
        try await log.killAndCheck(database: scratch.path("mirror.sqlite"))
    }

    @Test func importWithFailingFsyncReportsItAndAnotherRunCompletesIt() async throws {
        let scratch = Scratch()
        let database = scratch.path("mirror.sqlite")
        let (file, count) = try Faults.fixturesFile(in: scratch)

        let failed = try await Faults.underInjection("fsync,fdatasync:error=EIO", ["import", "--db", database, file])
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("I/O error"), "\(failed.stderr)")

        let again = try await CLI.run(["import", "--db", database, file])
        #expect(again.status == 0, "\(again.stderr)")
        let counts = try await CLI.run(["query", "--db", database, "--format", "csv",
                                  "SELECT count(*), count(DISTINCT body_sha256) FROM events"])
        #expect(counts.output == "count(*),count(DISTINCT body_sha256)\r\n\(count),\(count)\r\n")
    }

    @Test func rebuildWithFailingWritesKeepsTheReplicaWhole() async throws {
        let scratch = Scratch()
        let database = scratch.path("mirror.sqlite")
        let (file, _) = try Faults.fixturesFile(in: scratch)
        #expect(try await CLI.run(["import", "--db", database, file]).status == 0)
        func replica() async throws -> String {
            try await CLI.run(["query", "--db", database, "--format", "csv", """
                SELECT 'coworkers', id, data FROM coworkers UNION ALL SELECT 'invoices', id, status FROM invoices
                UNION ALL SELECT 'tombstones', id, entity_type FROM tombstones ORDER BY 1, 2
                """]).output
        }
        let before = try await replica()

        let failed = try await Faults.underInjection("pwrite64:error=EIO", ["rebuild", "--db", database])
        #expect(failed.status != 0)
        #expect(failed.stderr.split(separator: "\n").count == 1, "\(failed.stderr)")
        #expect(try await replica() == before)

        #expect(try await CLI.run(["rebuild", "--db", database]).status == 0)
        #expect(try await replica() == before)
    }
}

enum Faults {
    static let available: Bool = {
        let tools = ["/usr/bin/strace", "/usr/bin/mount", "/usr/bin/dd"]
        return getuid() == 0 && tools.allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    @discardableResult
    static func run(_ arguments: [String]) throws -> Int32 {
        try ChildProcess("/usr/bin/env", arguments).exitBlocking()
    }

    /// Every fixture as a JSON Lines file for `import`; returns its path and line count.
    static func fixturesFile(in scratch: Scratch) throws -> (String, Int) {
        let lines = NexudusFixtures.importLines()
        let file = scratch.path("fixtures.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return (file, lines.count)
    }

    /// Writes zeros to `path` until the file system is full.
    static func fill(_ path: String) throws {
        try run(["dd", "if=/dev/zero", "of=\(path)", "bs=64k"])
        let free = try FileManager.default.attributesOfFileSystem(forPath: path)[.systemFreeSize] as? Int
        #expect(free == 0)
    }

    /// Runs the CLI under strace with `faults` injected from its first system call.
    static func underInjection(_ faults: String, _ arguments: [String]) async throws -> CommandResult {
        let syscalls = faults.split(separator: ":")[0]
        return try await CLI.run(["-f", "-qq", "-o", "/dev/null", "-e", "trace=\(syscalls)", "-e", "inject=\(faults)",
                            CLI.binary.path] + arguments, executable: URL(fileURLWithPath: "/usr/bin/strace"))
    }
}

/// A tmpfs of a few megabytes, unmounted when the test ends.
final class SmallDisk {
    let directory: String

    init(_ directory: String, megabytes: Int) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let status = try Faults.run(["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", directory])
        guard status == 0 else { throw SmallDiskError() }
    }

    struct SmallDiskError: Error {}

    func path(_ name: String) -> String { "\(directory)/\(name)" }

    deinit { _ = try? Faults.run(["umount", "-l", directory]) }
}

/// strace attached to every thread of a live process, failing the named system calls until
/// stopped.
final class Injection {
    let process: ChildProcess
    let output: URL

    init(pid: Int32, faults: String) throws {
        let syscalls = faults.split(separator: ":")[0]
        output = FileManager.default.temporaryDirectory.appendingPathComponent("strace-\(UUID().uuidString)")
        process = try ChildProcess(
            "/usr/bin/strace", ["-f", "-p", "\(pid)", "-e", "trace=\(syscalls)", "-e", "inject=\(faults)", "-o", output.path])
        // Polled until every thread of the process names strace as its tracer: a thread not
        // attached yet would write unharmed.
        let tracer = process.pid
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !Self.everyThread(of: pid, tracedBy: tracer) {
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Whether every thread in /proc/PID/task has `TracerPid: tracer` in its status.
    static func everyThread(of pid: Int32, tracedBy tracer: Int32) -> Bool {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task"), !threads.isEmpty
        else { return false }
        return threads.allSatisfy { thread in
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/status", encoding: .utf8)) ?? ""
            return status.split(separator: "\n").contains("TracerPid:\t\(tracer)")
        }
    }

    /// Ends strace (the kernel then detaches the process, which carries on) and returns how
    /// many system calls it failed. SIGKILL, because strace inherits the test runner's blocked
    /// signal mask and would never see a SIGINT.
    func stop() -> Int {
        process.signal(SIGKILL)
        process.exitBlocking()
        let trace = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: output)
        return trace.components(separatedBy: "(INJECTED)").count - 1
    }

    deinit {
        if process.isRunning { _ = stop() }
    }
}

/// Deliveries sent to a server and what it acknowledged.
struct Acknowledged {
    let server: RunningServer
    var bodies: [Int: (seq: Int, body: [UInt8])] = [:]

    init(server: RunningServer) { self.server = server }

    static func body(_ index: Int, padding: Int) -> [UInt8] {
        let name = String(repeating: "n", count: padding)
        return Array(#"[{"Id":\#(2_000_000 + index),"UpdatedOn":"2026-05-01T10:00:00Z","FullName":"\#(name)"}]"#.utf8)
    }

    /// Sends one CoworkerCreate and returns the status; a 200 is remembered.
    @discardableResult
    mutating func deliver(_ index: Int, padding: Int = 200) async throws -> Int {
        let body = Self.body(index, padding: padding)
        let answer = try await HTTP.post("\(server.baseURL)/webhooks/CoworkerCreate", body: body)
        if answer.status == 200, let seq = answer.json["seq"] as? Int { bodies[index] = (seq, body) }
        return answer.status
    }

    /// Kills the server with SIGKILL and checks that every acknowledged body is in the log at
    /// its acknowledged position.
    func killAndCheck(database: String) async throws {
        await server.stop(signal: SIGKILL)
        let stored = try await DatabaseQueue(path: database).read { db in
            try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT seq, body FROM events").map {
                ($0["seq"] as Int, $0["body"] as Data)
            })
        }
        #expect(!bodies.isEmpty)
        for (index, acknowledged) in bodies {
            #expect(stored[acknowledged.seq] == Data(acknowledged.body), "delivery \(index), seq \(acknowledged.seq)")
        }
    }
}
