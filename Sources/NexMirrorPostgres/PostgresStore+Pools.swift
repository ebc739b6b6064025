import Logging
import PostgresNIO
import Synchronization

extension PostgresStore {
    /// A connection pool, which serves statements only while its `run()` goes on.
    struct Pool: Sendable {
        let client: PostgresClient
        let endpoint: PostgresURL.Endpoint
        /// Ends the pool's `run()`, and with it every connection the pool holds.
        let stop: @Sendable () -> Void
    }

    static func startPool(
        _ url: PostgresURL, _ endpoint: PostgresURL.Endpoint, runner: PoolRunner, logger: Logger
    ) throws -> Pool {
        var configuration = try url.clientConfiguration(endpoint)
        configuration.options.maximumConnections = 40
        let client = PostgresClient(configuration: configuration, backgroundLogger: quiet(logger))
        return Pool(client: client, endpoint: endpoint, stop: runner.run(client))
    }

    /// Makes `fresh` the pool statements run on; returns the one it replaces.
    func swapPool(to fresh: Pool) -> Pool {
        pool.withLock { pool in
            defer { pool = fresh }
            return pool
        }
    }

    /// Runs the store's connection pools in the calling task until that task is cancelled, then
    /// closes the store. `serve` calls it from the first service of its group, which a graceful
    /// shutdown stops last, once the receiver and the background services are done with the
    /// store. Statements from now on go to a fresh pool to the same server, which runs here, as
    /// does each pool a failover puts in its place; the pool that opened the store keeps its own
    /// task until then, for the statements already on it.
    public func runPools() async {
        guard let pools = runner.takeOver() else { return }
        let opening = (try? Self.startPool(url, endpoint, runner: runner, logger: logger)).map(swapPool)
        await withDiscardingTaskGroup { group in
            for await handedOver in pools { group.addTask { await handedOver.run() } }
            // The store was closed, or this task cancelled: end the pools still running.
            group.cancelAll()
        }
        opening?.stop()
        close()
    }

    /// Runs each pool the store starts: in a task of its own, until `runPools()` takes them
    /// over; a pool started after `close()` never runs.
    final class PoolRunner: Sendable {
        private enum Mode {
            case tasks
            case handedOver(AsyncStream<PoolRun>.Continuation)
            case closed
        }

        private let mode = Mutex(Mode.tasks)

        /// Starts running `client`; returns what stops it.
        func run(_ client: PostgresClient) -> @Sendable () -> Void {
            mode.withLock { mode in
                switch mode {
                case .tasks:
                    let task = Task { await client.run() }
                    return { task.cancel() }
                case .handedOver(let pools):
                    let (stopped, stop) = AsyncStream.makeStream(of: Never.self)
                    pools.yield(PoolRun(client: client, stopped: stopped))
                    return { stop.finish() }
                case .closed:
                    return {}
                }
            }
        }

        /// The pools started from now on, for the caller to run; nil once taken or closed.
        func takeOver() -> AsyncStream<PoolRun>? {
            mode.withLock { mode in
                guard case .tasks = mode else { return nil }
                let (pools, continuation) = AsyncStream.makeStream(of: PoolRun.self)
                mode = .handedOver(continuation)
                return pools
            }
        }

        func close() {
            mode.withLock { mode in
                if case .handedOver(let pools) = mode { pools.finish() }
                mode = .closed
            }
        }
    }

    /// A pool handed over to `runPools()`, and the signal that ends it.
    struct PoolRun: Sendable {
        let client: PostgresClient
        let stopped: AsyncStream<Never>

        func run() async {
            await withDiscardingTaskGroup { group in
                group.addTask { await client.run() }
                for await _ in stopped {}
                group.cancelAll()
            }
        }
    }
}
