import Dispatch
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NexMirrorSQLite
import NexMirrorServer
import NexMirrorStore
import NexudusFixtures
import NIOCore
import ServiceLifecycle
import Testing

/// The receiver's application (`buildApplication`, what `serve` runs) on a fresh SQLite file in a
/// temporary directory, driven in-process: `.router` hands requests straight to the router,
/// `.live` puts a real listener on a loopback port (for the peer's address and the admin port).
final class Receiver: Sendable {
    let directory: URL
    let path: String
    let store: SQLiteStore
    let configuration: ReceiverConfiguration

    init(
        secrets: [String] = [NexudusFixtures.secret], busyTimeout: TimeInterval = 5,
        configure: (inout ReceiverConfiguration) throws -> Void = { _ in }
    ) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("receiver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("mirror.sqlite").path
        store = try SQLiteStore(path: path, busyTimeout: busyTimeout)
        try store.registerProjectionsAndRebuildChanged()
        var configuration = ReceiverConfiguration(port: 0, secrets: secrets)
        try configure(&configuration)
        self.configuration = configuration
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    static let logger: Logger = {
        var logger = Logger(label: "nexmirror-test")
        logger.logLevel = .critical
        return logger
    }()

    /// Runs `body` against the application; `adminPort` receives the admin listener's port.
    func test<Value: Sendable>(
        _ setup: TestingSetup = .router, adminPort: AdminPort? = nil,
        _ body: @Sendable (any TestClientProtocol) async throws -> Value
    ) async throws -> Value {
        let app = buildApplication(
            configuration: configuration, store: store, logger: Self.logger,
            onAdminRunning: { port in adminPort?.set(port) })
        return try await withTaskExecutorPreference(receiverExecutor) { try await app.test(setup, body) }
    }

    /// Runs the application on a real listener at 127.0.0.1 (the configured host and limits,
    /// the connection guard included) and hands `body` its port: for tests that speak raw HTTP/1.
    func serving<Value: Sendable>(_ body: @Sendable (Int) async throws -> Value) async throws -> Value {
        let (ports, portFound) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
        var configuration = configuration
        configuration.host = "127.0.0.1"
        configuration.port = 0
        let app = buildApplication(
            configuration: configuration, store: store, logger: Self.logger,
            onServerRunning: { port in portFound.yield(port) })
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: Self.logger)
        return try await withTaskExecutorPreference(receiverExecutor) { try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { portFound.finish() }
            do {
                guard let port = await ports.first(where: { _ in true }) else { throw Timeout(what: "the listener") }
                let value = try await body(port)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return value
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        } }
    }

    func count(_ sql: String) throws -> Int {
        try store.pool.read { db in try Int.fetchOne(db, sql: sql) ?? -1 }
    }

    func strings(_ sql: String) throws -> [String?] {
        try store.pool.read { db in try String?.fetchAll(db, sql: sql) }
    }
}

/// Where the application under test runs: threads of its own rather than the cooperative pool.
/// Swift Testing runs CPU-bound tests (property tests, the fuzz run) on that pool, two threads on
/// two cores; a receiver sharing it would answer whenever they let it, and every timed
/// expectation here would measure them instead. Child tasks (each connection, each request)
/// inherit the preference, and so do default actors such as the group committer.
let receiverExecutor = DispatchTaskExecutor(label: "receiver-under-test")

final class DispatchTaskExecutor: TaskExecutor {
    private let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: label, attributes: .concurrent) }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// How long a test waits for what the receiver does in the background (rejections written, the
/// fold, silence): the projector, the committer and the rejection recorder start unstructured
/// tasks, which run on the cooperative pool whatever the executor preference, and a CPU-bound
/// test beside them can hold both of its threads for tens of seconds. Polled, so only a failing
/// test waits this long.
let backgroundWork = 90.0

/// The port the admin listener got, known once it runs.
final class AdminPort: Sendable {
    private let stream: AsyncStream<Int>
    private let continuation: AsyncStream<Int>.Continuation

    init() { (stream, continuation) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1)) }

    func set(_ port: Int) { continuation.yield(port) }

    var value: Int {
        get async throws {
            guard let port = await stream.first(where: { _ in true }) else { throw Timeout(what: "the admin listener") }
            return port
        }
    }
}

struct Timeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "gave up waiting for \(what)" }
}

extension TestClientProtocol {
    /// Delivers a fixture as Nexudus does: its body, signature header and action route.
    func deliver(_ fixture: String, as route: String? = nil) async throws -> TestResponse {
        try await post(
            "/webhooks/\(route ?? NexudusFixtures.action(of: fixture))", body: NexudusFixtures.body(fixture),
            headers: [.nexudusSignature: NexudusFixtures.signature(fixture)])
    }

    func post(_ uri: String, body: [UInt8], headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get)
    }
}

extension HTTPField.Name {
    static let nexudusSignature = Self("X-Nexudus-Hook-Signature")!
    static let forwardedFor = Self("X-Forwarded-For")!
}

extension TestResponse {
    var text: String { String(buffer: body) }

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }
}
