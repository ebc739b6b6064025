import AsyncHTTPClient
import Foundation
import NexudusFixtures
import NIOCore
import Subprocess
import Testing

/// A scratch directory removed when the test ends.
package final class Scratch {
    package let url: URL
    package init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("nexmirror-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    package func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes the fixtures' secret to a file and returns its path.
    package func secretFile(_ secrets: [String] = [NexudusFixtures.secret]) -> String {
        let path = path("test.secret")
        _ = FileManager.default.createFile(atPath: path, contents: Data((secrets.joined(separator: "\n") + "\n").utf8))
        return path
    }
}

package struct CommandResult {
    package let status: Int32
    package let stdout: Data
    package let stderr: String
    package var output: String { String(decoding: stdout, as: UTF8.self) }

    package init(status: Int32, stdout: Data, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs the real `nexmirror` binary built next to the test bundle.
package enum CLI {
    package static let binary: URL = {
        if let path = ProcessInfo.processInfo.environment["NEXMIRROR_BIN"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("nexmirror")
    }()

    /// Runs `executable` to its end and collects what it wrote. swift-subprocess waits for the
    /// child without holding a thread of the cooperative pool (two threads on two cores), so
    /// in-process servers the child talks to keep answering.
    @discardableResult
    package static func run(
        _ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:],
        in directory: URL? = nil, executable: URL = binary
    ) async throws -> CommandResult {
        // The caller's own database and secret must not leak into a test.
        var overrides: [Environment.Key: String?] = ["NEXMIRROR_DB": nil, "NEXMIRROR_SECRET": nil]
        for (key, value) in environment { overrides[Environment.Key(rawValue: key)!] = value }
        let executable = Executable.path(.init(executable.path))
        let workingDirectory = directory?.path
        let output = BytesOutput.bytes(limit: 256 << 20), error = BytesOutput.bytes(limit: 16 << 20)
        let result: ExecutionResult<Void, BytesOutput, BytesOutput>
        if let stdin {
            // From a file: 1.0.2 traps when a child exits before it has read piped input
            // (`.array`), which a command refusing its flags does.
            let inURL = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString).in")
            try Data(stdin).write(to: inURL)
            defer { try? FileManager.default.removeItem(at: inURL) }
            let descriptor = open(inURL.path, O_RDONLY)
            guard descriptor >= 0 else { throw CocoaError(.fileReadUnknown) }
            result = try await Subprocess.run(
                executable, arguments: Arguments(arguments), environment: .inherit.updating(overrides),
                workingDirectory: workingDirectory.map { .init($0) },
                input: .fileDescriptor(.init(rawValue: descriptor), closeAfterSpawningProcess: true),
                output: output, error: error)
        } else {
            result = try await Subprocess.run(
                executable, arguments: Arguments(arguments), environment: .inherit.updating(overrides),
                workingDirectory: workingDirectory.map { .init($0) }, input: .none, output: output, error: error)
        }
        let status: Int32
        switch result.terminationStatus {
        case .exited(let code): status = code
        case .signaled(let signal): status = 128 + signal
        }
        return CommandResult(
            status: status, stdout: Data(result.standardOutput),
            stderr: String(decoding: result.standardError, as: UTF8.self))
    }
}

/// A real `nexmirror serve` on a free loopback port.
package final class RunningServer {
    package let process: ChildProcess
    package let port: Int
    package let outputURL: URL
    package let errorURL: URL
    package var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the server and waits (polling, off no thread) for the line that names its port.
    package init(arguments: [String], environment: [String: String] = [:]) async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString)")
        outputURL = base.appendingPathExtension("out")
        errorURL = base.appendingPathExtension("err")
        // The caller's own database and secret must not leak into a test.
        var overrides: [String: String?] = ["NEXMIRROR_DB": nil, "NEXMIRROR_SECRET": nil]
        for (key, value) in environment { overrides[key] = value }
        process = try ChildProcess(
            CLI.binary.path, ["serve", "--port", "0", "--log-level", "warning"] + arguments, environment: overrides,
            standardOutput: outputURL.path, standardError: errorURL.path)
        let process = process, outputURL = outputURL
        var found: Int?
        await eventually(within: 30) {
            let text = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"listening on http://[^:]+:(\d+)"#, options: .regularExpression) {
                found = Int(text[range].split(separator: ":").last!)
            }
            return found != nil || !process.isRunning
        }
        guard let found else {
            process.signal(SIGKILL)
            process.exitBlocking()
            let errors = (try? String(contentsOf: errorURL, encoding: .utf8)) ?? ""
            throw ServerDidNotStart(output: errors)
        }
        port = found
    }

    package struct ServerDidNotStart: Error { package let output: String }

    package var standardOutput: String { (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "" }
    package var standardError: String { (try? String(contentsOf: errorURL, encoding: .utf8)) ?? "" }

    /// Sends a signal and waits (polling) for the process to end; returns its exit status
    /// (128 + the signal when a signal ended it).
    @discardableResult
    package func stop(signal: Int32 = SIGTERM) async -> Int32 {
        process.signal(signal)
        return await process.exit()
    }

    deinit {
        if process.isRunning {
            process.signal(SIGKILL)
            process.exitBlocking()
        }
        try? FileManager.default.removeItem(at: outputURL)
        try? FileManager.default.removeItem(at: errorURL)
    }
}

package struct HTTPAnswer {
    package let status: Int
    package let body: String
    package var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }
}

package enum HTTP {
    package static func post(
        _ url: String, body: [UInt8], headers: [(String, String)] = []
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return try await execute(request)
    }

    package static func get(_ url: String) async throws -> HTTPAnswer {
        try await execute(HTTPClientRequest(url: url))
    }

    private static func execute(_ request: HTTPClientRequest) async throws -> HTTPAnswer {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        return HTTPAnswer(status: Int(response.status.code), body: String(buffer: body))
    }

    /// Delivers a fixture exactly as Nexudus would.
    package static func deliver(_ fixture: String, to server: RunningServer, as action: String? = nil) async throws -> HTTPAnswer {
        try await post(
            "\(server.baseURL)/webhooks/\(action ?? NexudusFixtures.action(of: fixture))", body: NexudusFixtures.body(fixture),
            headers: [("X-Nexudus-Hook-Signature", NexudusFixtures.signature(fixture))])
    }
}

/// How long a store opened by a test may wait for PostgreSQL. A receiver answers 503 after
/// `--lock-timeout` (5 s); a test that calls the store itself wants its answer, however busy the
/// machine is.
package let testDeadline: Duration = .seconds(300)
