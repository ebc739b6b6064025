import NexMirrorServer
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct PeriodicServiceTests {
    @Test func theJobRunsAtStartThenEveryInterval() async throws {
        let runs = Mutex(0)
        let service = PeriodicService(every: .milliseconds(20)) { runs.withLock { $0 += 1 } }
        let logs = LogBox()
        try await runThenStop([service], logger: logs.logger) {
            let deadline = ContinuousClock.now + .seconds(20)
            while runs.withLock({ $0 }) < 3, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        #expect(runs.withLock { $0 } >= 3)
    }

    /// A day's interval: the first run comes at once, and the shutdown does not wait for the next.
    @Test func gracefulShutdownEndsTheWaitForTheNextRun() async throws {
        let runs = Mutex(0)
        let service = PeriodicService(every: .seconds(86_400)) { runs.withLock { $0 += 1 } }
        let logs = LogBox()
        let started = ContinuousClock.now
        try await runThenStop([service], logger: logs.logger) {
            while runs.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(runs.withLock { $0 } == 1)
        #expect(ContinuousClock.now - started < .seconds(3600))
    }
}
