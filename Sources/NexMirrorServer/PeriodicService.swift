import ServiceLifecycle

/// A background job run at start and then every `interval`, until graceful shutdown: `serve`'s
/// sync, erasure and compaction. The job reports its own outcome and never throws, so a failed
/// run waits for the next one; a run still going at shutdown is cancelled.
public struct PeriodicService: Service {
    let interval: Duration
    let job: @Sendable () async -> Void

    public init(every interval: Duration, _ job: @escaping @Sendable () async -> Void) {
        self.interval = interval
        self.job = job
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await job()
                try? await Task.sleep(for: interval)
            }
        }
    }
}
