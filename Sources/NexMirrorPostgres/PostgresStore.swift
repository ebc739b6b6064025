import Logging
import NexMirrorStore
import PostgresNIO
import Synchronization

/// The PostgreSQL backend (SPEC §6): any number of receivers append to one log, each append one
/// statement serialized in the database (commit order is seq order); projectors are fenced by the
/// checkpoint rows they lock, so each delivery is folded once whatever number of them run.
public final class PostgresStore: EventStore {
    public let url: PostgresURL
    let logger: Logger
    /// How long an append or probe may wait for PostgreSQL before the receiver answers 503.
    let deadline: Duration
    /// The connection pool to the server chosen among the URL's hosts; replaced when that
    /// server goes away or turns read-only (see `recover`).
    let pool: Mutex<Pool>
    /// What runs each pool (PostgresStore+Pools.swift).
    let runner: PoolRunner
    /// The search for a server to replace the pool's, while one runs.
    let recovery = Mutex<Task<Void, Never>?>(nil)
    let closed = Mutex(false)

    /// The pool statements run on now.
    var client: PostgresClient { pool.withLock { $0.client } }
    /// The host the pool connects to now.
    var endpoint: PostgresURL.Endpoint { pool.withLock { $0.endpoint } }

    static let rejectionsKept = 1000
    /// `pg_advisory_xact_lock` key under which migrations run: concurrent starts apply each once.
    static let migrationLock: Int64 = 0x6E65_786D_6972_0001

    /// Connects (the pool reconnects by itself after PostgreSQL restarts) and migrates.
    public init(url: PostgresURL, deadline: Duration = .seconds(5), logger: Logger, migrating: Bool = true) async throws {
        self.url = url
        self.deadline = deadline
        self.logger = logger
        // One direct attempt per host first: the pool would retry a wrong address, a missing
        // database or a certificate that fails verification silently until the deadline, and
        // the operator should hear at once. It also picks the host target_session_attrs wants.
        let runner = PoolRunner()
        let pool: Pool
        do {
            let (probe, endpoint) = try await url.connectToTarget(id: 0, logger: Self.quiet(logger))
            try? await probe.close()
            pool = try Self.startPool(url, endpoint, runner: runner, logger: logger)
        } catch {
            throw PostgresOpenError.cannotConnect(url: url, reason: Self.connectReason(error, url: url))
        }
        self.runner = runner
        self.pool = Mutex(pool)
        do {
            if migrating { try await migrate() }
        } catch {
            close()
            throw PostgresOpenError.cannotMigrate(url: url, reason: Self.reason(error))
        }
    }

    deinit { close() }

    /// Stops the connection pool, and any search for another server.
    public func close() {
        closed.withLock { $0 = true }
        recovery.withLock { $0?.cancel() }
        pool.withLock { $0.stop() }
        runner.close()
    }

    // The pool logs every failed reconnect; the receiver's 503s and /readyz already say it.
    static func quiet(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = .critical
        return quiet
    }

    /// Runs `body`; a database error becomes a `PostgresStatementError` saying it could not `doing`,
    /// and anything else (cancellation, a deadline) passes through as it is.
    func statement<Result>(_ doing: String, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error where error is PSQLError || error is PostgresTransactionError {
            recover(after: error)
            throw PostgresStatementError.failed(doing: doing, reason: Self.reason(error))
        }
    }
}
