import AsyncHTTPClient
import Foundation
import NexudusFixtures
import NIOCore
import Testing

/// A scratch directory removed when the test ends.
final class Scratch {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("nexmirror-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes the fixtures' secret to a file and returns its path.
    func secretFile(_ secrets: [String] = [NexudusFixtures.secret]) -> String {
        let path = path("test.secret")
        _ = FileManager.default.createFile(atPath: path, contents: Data((secrets.joined(separator: "\n") + "\n").utf8))
        return path
    }
}

struct CommandResult {
    let status: Int32
    let stdout: Data
    let stderr: String
    var output: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs the real `nexmirror` binary built next to the test bundle.
enum CLI {
    static let binary: URL = {
        if let path = ProcessInfo.processInfo.environment["NEXMIRROR_BIN"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("nexmirror")
    }()

    @discardableResult
    static func run(
        _ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:],
        in directory: URL? = nil, executable: URL = binary
    ) throws -> CommandResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NEXMIRROR_DB"] = nil
        env["NEXMIRROR_SECRET"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        let outURL = scratch.appendingPathExtension("out")
        let errURL = scratch.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        if let stdin {
            let inURL = scratch.appendingPathExtension("in")
            _ = FileManager.default.createFile(atPath: inURL.path, contents: Data(stdin))
            process.standardInput = try FileHandle(forReadingFrom: inURL)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus, stdout: try Data(contentsOf: outURL),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}

/// A real `nexmirror serve` on a free loopback port.
final class RunningServer {
    let process: Process
    let port: Int
    let outputURL: URL
    let errorURL: URL
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(arguments: [String], environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["serve", "--port", "0", "--log-level", "warning"] + arguments
        var env = ProcessInfo.processInfo.environment
        env["NEXMIRROR_DB"] = nil
        env["NEXMIRROR_SECRET"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString)")
        outputURL = base.appendingPathExtension("out")
        errorURL = base.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outputURL)
        process.standardError = try FileHandle(forWritingTo: errorURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        var found: Int?
        while Date() < deadline, process.isRunning {
            let text = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"listening on http://[^:]+:(\d+)"#, options: .regularExpression) {
                found = Int(text[range].split(separator: ":").last!)
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard let found else {
            process.terminate()
            let errors = (try? String(contentsOf: errorURL, encoding: .utf8)) ?? ""
            throw ServerDidNotStart(output: errors)
        }
        port = found
    }

    struct ServerDidNotStart: Error { let output: String }

    var standardOutput: String { (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "" }
    var standardError: String { (try? String(contentsOf: errorURL, encoding: .utf8)) ?? "" }

    /// Sends a signal and waits for the process to end; returns its exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: outputURL)
        try? FileManager.default.removeItem(at: errorURL)
    }
}

struct HTTPAnswer {
    let status: Int
    let body: String
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }
}

enum HTTP {
    static func post(
        _ url: String, body: [UInt8], headers: [(String, String)] = []
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return try await execute(request)
    }

    static func get(_ url: String) async throws -> HTTPAnswer {
        try await execute(HTTPClientRequest(url: url))
    }

    private static func execute(_ request: HTTPClientRequest) async throws -> HTTPAnswer {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        return HTTPAnswer(status: Int(response.status.code), body: String(buffer: body))
    }

    /// Delivers a fixture exactly as Nexudus would.
    static func deliver(_ fixture: String, to server: RunningServer, as action: String? = nil) async throws -> HTTPAnswer {
        try await post(
            "\(server.baseURL)/webhooks/\(action ?? NexudusFixtures.action(of: fixture))", body: NexudusFixtures.body(fixture),
            headers: [("X-Nexudus-Hook-Signature", NexudusFixtures.signature(fixture))])
    }
}
