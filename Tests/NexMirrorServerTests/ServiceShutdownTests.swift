import Logging
import NexMirrorCore
import NexMirrorServer
import NexMirrorStore
import ServiceLifecycle
import Synchronization
import Testing

/// An event store in memory that counts what it is asked, and fails on demand.
final class RecordingStore: EventStore {
    struct State {
        var deliveries: [NewDelivery] = []
        var appendCalls = 0
        var rejections: [Rejection] = []
        var failRejections = false
    }
    let state = Mutex(State())

    struct Refused: Error {}

    func append(_ deliveries: [NewDelivery]) async throws -> [AppendResult] {
        state.withLock { state in
            state.appendCalls += 1
            return deliveries.map { delivery in
                state.deliveries.append(delivery)
                return AppendResult(seq: Int64(state.deliveries.count), duplicate: false)
            }
        }
    }

    func recordRejections(_ rejections: [Rejection]) async throws {
        try state.withLock { state in
            if state.failRejections { throw Refused() }
            state.rejections += rejections
        }
    }

    func isWritable() async -> Bool { true }
    func foldPending(limit: Int) async throws -> Int { 0 }
    var foldBatchSize: Int { 100 }
    func progress() async throws -> (lastSeq: Int64, checkpoint: Int64) { (0, 0) }
}

/// Keeps every log message, to check that a failure is reported rather than dropped.
struct CapturingLogHandler: LogHandler {
    let box: LogBox
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let details = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        box.messages.withLock { $0.append(([event.message.description] + details).joined(separator: " ")) }
    }
}

final class LogBox: Sendable {
    let messages = Mutex<[String]>([])
    var logger: Logger { Logger(label: "test") { [self] _ in CapturingLogHandler(box: self) } }
    var lines: [String] { messages.withLock { $0 } }
}

/// Runs `service` in a ServiceGroup, lets `body` use it, then stops it gracefully and waits.
func runThenStop(_ services: [any Service], logger: Logger, _ body: () async throws -> Void = {}) async throws {
    let group = ServiceGroup(services: services, logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        try await body()
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

func delivery(_ id: Int) -> NewDelivery {
    NewDelivery(
        action: ActionCatalog.action(named: "CoworkerCreate")!, body: Array("[{\"Id\":\(id)}]".utf8), source: .webhook,
        signature: .raw)
}

@Suite(.timeLimit(.minutes(1))) struct RejectionRecorderTests {
    private func rejection(_ index: Int) -> Rejection {
        Rejection(action: "A\(index)", body: [UInt8(index)], remoteAddress: nil, reason: "mismatch")
    }

    @Test func rejectionsStillQueuedAtShutdownAreWritten() async throws {
        let store = RecordingStore()
        let logs = LogBox()
        let recorder = RejectionRecorder(store: store, logger: logs.logger)
        for index in 0..<30 { recorder.record(rejection(index)) }
        try await runThenStop([recorder], logger: logs.logger)
        #expect(store.state.withLock { $0.rejections.map(\.action) } == (0..<30).map { "A\($0)" })
    }

    @Test func underAFloodTheNewestAreKept() async throws {
        let store = RecordingStore()
        let logs = LogBox()
        let recorder = RejectionRecorder(store: store, logger: logs.logger, maxPending: 5)
        for index in 0..<12 { recorder.record(rejection(index)) }
        try await runThenStop([recorder], logger: logs.logger)
        #expect(store.state.withLock { $0.rejections.map(\.action) } == ["A7", "A8", "A9", "A10", "A11"])
    }

    @Test func aFailedWriteIsLoggedWithItsCount() async throws {
        let store = RecordingStore()
        store.state.withLock { $0.failRejections = true }
        let logs = LogBox()
        let recorder = RejectionRecorder(store: store, logger: logs.logger)
        for index in 0..<3 { recorder.record(rejection(index)) }
        try await runThenStop([recorder], logger: logs.logger)
        #expect(logs.lines.contains { $0.hasPrefix("signature rejections not recorded count=3 error=Refused") })
    }
}

@Suite(.timeLimit(.minutes(1))) struct GroupCommitterTests {
    @Test func concurrentDeliveriesAreAllCommittedAndAcknowledgedOnce() async throws {
        let store = RecordingStore()
        let logs = LogBox()
        let committer = GroupCommitter(store: store)
        try await runThenStop([committer], logger: logs.logger) {
            let seqs = try await withThrowingTaskGroup(of: Int64.self) { tasks in
                for id in 0..<200 { tasks.addTask { try await committer.append(delivery(id)).seq } }
                return try await tasks.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(seqs).count == 200)
        }
        let (count, calls) = store.state.withLock { ($0.deliveries.count, $0.appendCalls) }
        #expect(count == 200)
        #expect(calls <= 200)
    }

    @Test func aDeliveryAfterShutdownIsStillCommitted() async throws {
        let store = RecordingStore()
        let logs = LogBox()
        let committer = GroupCommitter(store: store)
        try await runThenStop([committer], logger: logs.logger)
        let results = try await withThrowingTaskGroup(of: AppendResult.self) { tasks in
            for id in 0..<20 { tasks.addTask { try await committer.append(delivery(id)) } }
            return try await tasks.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(results.map(\.seq)).count == 20)
    }
}
