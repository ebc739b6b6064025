import Foundation
import Logging
import NIOCore
import NexMirrorCore
import NexMirrorProjections
import NexMirrorSchema
import NexMirrorStore
import PostgresNIO
import Synchronization

/// Why a PostgreSQL store could not be opened: one line for the operator.
public struct PostgresOpenError: Error, CustomStringConvertible {
    public let description: String
}

/// A statement PostgreSQL refused, in one line: what was being read or recorded, and the server's
/// reason (postgres-nio's own description of its errors hides it).
public struct PostgresStatementError: Error, CustomStringConvertible {
    public let description: String
}

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
    private let pool: Mutex<Pool>
    /// The search for a server to replace the pool's, while one runs.
    private let recovery = Mutex<Task<Void, Never>?>(nil)
    private let closed = Mutex(false)

    struct Pool: Sendable {
        let client: PostgresClient
        let endpoint: PostgresURL.Endpoint
        let running: Task<Void, Never>
    }

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
        let pool: Pool
        do {
            let (probe, endpoint) = try await url.connectToTarget(id: 0, logger: Self.quiet(logger))
            try? await probe.close()
            pool = try Self.startPool(url, endpoint, logger: logger)
        } catch {
            throw PostgresOpenError(description: "cannot connect to \(url): \(Self.connectReason(error, url: url))")
        }
        self.pool = Mutex(pool)
        do {
            if migrating { try await migrate() }
        } catch {
            close()
            throw PostgresOpenError(description: "cannot open \(url): \(Self.reason(error))")
        }
    }

    deinit { close() }

    /// Stops the connection pool, and any search for another server.
    public func close() {
        closed.withLock { $0 = true }
        recovery.withLock { $0?.cancel() }
        pool.withLock { $0.running.cancel() }
    }

    // The pool logs every failed reconnect; the receiver's 503s and /readyz already say it.
    static func quiet(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = .critical
        return quiet
    }

    private static func startPool(_ url: PostgresURL, _ endpoint: PostgresURL.Endpoint, logger: Logger) throws -> Pool {
        var configuration = try url.clientConfiguration(endpoint)
        configuration.options.maximumConnections = 40
        let client = PostgresClient(configuration: configuration, backgroundLogger: quiet(logger))
        return Pool(client: client, endpoint: endpoint, running: Task { await client.run() })
    }

    // MARK: Failover

    /// Called with every failure to reach PostgreSQL. A connection that dropped, a server that
    /// turned read-only (SQLSTATE 25006: demoted, or a proxy still pointing at it) or a
    /// deadline passed starts one search, in the background, for the host
    /// `target_session_attrs` wants; what failed has already failed (503, never 200). The
    /// pool is replaced rather than left to reconnect: postgres-nio's backs off up to 60 s,
    /// and its connections to a demoted server would stay read-only.
    func recover(after error: any Error) {
        if let cause = Self.failoverCause(error) { recover(cause) }
    }

    func recover(_ cause: FailoverCause) {
        recovery.withLock { search in
            guard search == nil, !closed.withLock({ $0 }) else { return }
            search = Task { [weak self] in
                await self?.findServer(replacingSameHost: cause != .deadline)
                self?.recovery.withLock { $0 = nil }
            }
        }
    }

    enum FailoverCause { case readOnly, connection, deadline }

    static func failoverCause(_ error: any Error) -> FailoverCause? {
        if error is DeadlineExceeded { return .deadline }
        if let error = error as? PostgresTransactionError {
            return (error.closureError ?? error.commitError ?? error.beginError).flatMap(failoverCause)
        }
        guard let error = error as? PSQLError else { return nil }
        if let state = error.serverInfo?[.sqlState] {
            // 25006 read_only_sql_transaction; 57P01–03 the server is shutting down or starting.
            if state == "25006" { return .readOnly }
            return state.hasPrefix("57P") || state.hasPrefix("08") ? .connection : nil
        }
        switch error.code {
        // Not clientClosedConnection or poolClosed: those are a replaced pool going away.
        case .serverClosedConnection, .connectionError, .uncleanShutdown:
            return .connection
        default:
            return nil
        }
    }

    /// Tries the hosts until one fits, then swaps the pool. After a deadline alone the pool is
    /// kept if the same host still fits: a slow server is not a lost one.
    private func findServer(replacingSameHost: Bool) async {
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                let (probe, endpoint) = try await url.connectToTarget(id: attempt, logger: Self.quiet(logger))
                try? await probe.close()
                if !replacingSameHost, endpoint == self.endpoint { return }
                let fresh = try Self.startPool(url, endpoint, logger: logger)
                let old = pool.withLock { pool in
                    defer { pool = fresh }
                    return pool
                }
                old.running.cancel()
                logger.notice("PostgreSQL: connected to \(endpoint) after a failure")
                return
            } catch {
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// True while a search for another server runs: the receiver is not ready meanwhile.
    var isRecovering: Bool { recovery.withLock { $0 != nil } }

    /// Why a first connection failed, in the words an operator searches for.
    static func connectReason(_ error: any Error, url: PostgresURL) -> String {
        if let error = error as? PostgresURL.TLSError { return error.description }
        if let error = error as? PSQLError, error.code == .sslUnsupported {
            return "the server does not accept TLS, which sslmode=\(url.sslMode.rawValue) requires "
                + "(turn ssl on in postgresql.conf, or use sslmode=prefer to fall back to plain TCP)"
        }
        // PSQLError prints only its code; the TLS failure is in its underlying error.
        let text = "\(error) \(reason(error))"
        if text.contains("failedToValidateHostname") {
            return "the server's certificate does not name the host connected to (sslmode=verify-full checks it; "
                + "connect by a name the certificate lists, or use sslmode=verify-ca)"
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed") {
            return "the server's certificate failed verification against \(url.rootCertificate) "
                + "(sslmode=\(url.sslMode.rawValue)): is sslrootcert the CA that signed it?"
        }
        if text.contains("Connection refused") { return "connection refused (is PostgreSQL running there?)" }
        if text.contains("No such file") { return "no PostgreSQL socket there (is it running, is host= the right directory?)" }
        return reason(error)
    }

    /// Runs `body`; a database error becomes a `PostgresStatementError` saying it could not `doing`,
    /// and anything else (cancellation, a deadline) passes through as it is.
    func statement<Result>(_ doing: String, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error where error is PSQLError || error is PostgresTransactionError {
            recover(after: error)
            throw PostgresStatementError(description: "cannot \(doing): \(Self.reason(error))")
        }
    }

    /// One readable line for a PostgreSQL error (PSQLError hides the server's message by default).
    static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)".replacingOccurrences(of: "PSQLError.Code(", with: "")
        }
        if let error = error as? PostgresTransactionError {
            return reason(error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? error)
        }
        return "\(error)"
    }

    /// Applies `PostgresSchema.migrations` not yet recorded, in one transaction under an advisory
    /// lock. postgres-nio sends one statement per query, so each file runs through `EXECUTE`,
    /// which takes several.
    func migrate() async throws {
        // Generous: a migration that builds an index over a large log takes its time, and
        // receivers started together wait here for the first one's.
        try await withDeadline(.seconds(900), "migrate") { [client, logger] in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (identifier text PRIMARY KEY, applied_at text NOT NULL)",
                    logger: logger)
                var applied: Set<String> = []
                for try await identifier in try await connection.query(
                    "SELECT identifier FROM schema_migrations", logger: logger
                ).decode(String.self) {
                    applied.insert(identifier)
                }
                for migration in PostgresSchema.migrations where !applied.contains(migration.identifier) {
                    // The file is ours, embedded in the binary; nothing from input is spliced in.
                    try await connection.query(
                        PostgresQuery(unsafeSQL: """
                            DO $nexmirror_migration$ BEGIN EXECUTE $nexmirror_sql$\(migration.sql)$nexmirror_sql$; END $nexmirror_migration$
                            """), logger: logger)
                    try await connection.query(
                        "INSERT INTO schema_migrations VALUES (\(migration.identifier), \(Timestamp.now.description))",
                        logger: logger)
                }
            }
        }
    }

    /// Identifiers of the migrations recorded in the database.
    public func appliedMigrations() async throws -> [String] {
        var identifiers: [String] = []
        for try await identifier in try await client.query(
            "SELECT identifier FROM schema_migrations ORDER BY identifier"
        ).decode(String.self) {
            identifiers.append(identifier)
        }
        return identifiers
    }

    // MARK: Event log

    public func append(_ deliveries: [NewDelivery]) async throws -> [AppendResult] {
        guard !deliveries.isEmpty else { return [] }
        do {
            var results = [AppendResult?](repeating: nil, count: deliveries.count)
            var pending = Array(deliveries.indices)
            var erasedFor: [Int: Set<Int64>] = [:]
            // A delivery naming an erased subject comes back unwritten with the subjects to erase
            // it for; it is sent again erased. Twice more covers a forget between the rounds.
            for _ in 0..<3 where !pending.isEmpty {
                let answers = try await appendOnce(pending.map { index in (deliveries[index], erasedFor[index] ?? []) })
                var next: [Int] = []
                for (index, answer) in zip(pending, answers) {
                    switch answer {
                    case .appended(let result): results[index] = result
                    case .eraseFor(let subjects):
                        erasedFor[index, default: []].formUnion(subjects)
                        next.append(index)
                    }
                }
                pending = next
            }
            guard pending.isEmpty else {
                throw StoreError.unavailable("erasures kept changing the subjects a delivery names; try again")
            }
            return results.map { $0! }
        } catch let error as StoreError {
            throw error
        } catch {
            recover(after: error)
            throw StoreError.unavailable(Self.reason(error))
        }
    }

    private enum AppendAnswer {
        case appended(AppendResult)
        case eraseFor(Set<Int64>)
    }

    /// One call of the append function: parallel arrays, one round trip. The function takes the
    /// append lock, so it must not be held across round trips. '' stands for NULL (no field here
    /// is legitimately empty).
    private func appendOnce(_ batch: [(delivery: NewDelivery, erasedFor: Set<Int64>)]) async throws -> [AppendAnswer] {
        let deliveries = batch.map(\.delivery)
        let erased = batch.map { item in item.erasedFor.isEmpty ? nil : item.delivery.erased(for: item.erasedFor) }
        let receivedAt = deliveries.map(\.receivedAt.description)
        let actions = deliveries.map(\.action.name)
        let actionIds = deliveries.map { Int32($0.action.id) }
        let entityTypes = deliveries.map { $0.entityType ?? "" }
        let entityIds = deliveries.map { $0.entityId.map(String.init) ?? "" }
        let updatedOn = deliveries.map { $0.updatedOn?.description ?? "" }
        let bodies = zip(deliveries, erased).map { ByteBuffer(bytes: $1?.body ?? $0.body) }
        let hashes = deliveries.map(\.bodySHA256)
        let sources = deliveries.map(\.source.rawValue)
        let signatures = deliveries.map(\.signature)
        let errors = deliveries.map { $0.problem ?? "" }
        let subjects = deliveries.map { $0.referencedCoworkers.map(String.init).joined(separator: ",") }
        // Sent even when the body held nothing of them to erase: it is then written as received.
        let erasedFor = batch.map { $0.erasedFor.sorted().map(String.init).joined(separator: ",") }
        let erasedHashes = erased.map { $0?.sha256 ?? "" }
        let query: PostgresQuery = """
            SELECT appended_seq, duplicate, erase_for FROM nexmirror_append_erasing(\(receivedAt), \(actions), \
            \(actionIds), \(entityTypes), \(entityIds), \(updatedOn), \(bodies), \(hashes), \(sources), \(signatures), \
            \(errors), \(subjects), \(erasedFor), \(erasedHashes))
            """
        return try await withDeadline(deadline, "commit") { [client] in
            var answers: [AppendAnswer] = []
            for try await (seq, duplicate, eraseFor) in try await client.query(query).decode((Int64?, Bool, String?).self) {
                if let seq {
                    answers.append(.appended(AppendResult(seq: seq, duplicate: duplicate)))
                } else {
                    answers.append(.eraseFor(Set((eraseFor ?? "").split(separator: ",").compactMap { Int64($0) })))
                }
            }
            return answers
        }
    }

    public func recordRejections(_ rejections: [Rejection]) async throws {
        guard !rejections.isEmpty else { return }
        let receivedAt = rejections.map(\.receivedAt.description)
        let actions = rejections.map(\.action)
        let sizes = rejections.map { Int32(clamping: $0.size) }
        let hashes = rejections.map(\.bodySHA256)
        let addresses = rejections.map { $0.remoteAddress ?? "" }
        let reasons = rejections.map(\.reason)
        // Diagnostics, not deliveries: no need to wait for the flush.
        _ = try await withDeadline(deadline, "record rejections") { [client] in
            try await client.query("""
                WITH added AS (
                    INSERT INTO rejections (received_at, action, size, body_sha256, remote_address, reason)
                    SELECT r, a, s, h, nullif(ip, ''), why
                    FROM unnest(\(receivedAt)::text[], \(actions)::text[], \(sizes)::integer[], \(hashes)::text[],
                                \(addresses)::text[], \(reasons)::text[]) AS t(r, a, s, h, ip, why)
                    RETURNING id)
                DELETE FROM rejections WHERE id <= (SELECT max(id) FROM added) - \(Int64(Self.rejectionsKept))
                """)
        }
    }

    public func isWritable() async -> Bool {
        guard !isRecovering else { return false }
        let writable: Bool
        do {
            writable = try await withDeadline(.seconds(2), "answer the readiness probe") { [client] in
                for try await (inRecovery, readOnly) in try await client.query(
                    "SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'"
                ).decode((Bool, Bool).self) {
                    return !inRecovery && !readOnly
                }
                return false
            }
        } catch {
            recover(after: error)
            return false
        }
        // Reached, but a standby now (demoted, or a proxy that still points at it).
        if !writable { recover(.readOnly) }
        return writable
    }

    // MARK: Replica

    /// A fold never blocks an append here (they lock different rows), and each batch costs a
    /// dozen round trips whatever its size: large batches let a projector that fell behind under
    /// load catch up, where 100 a batch left it further behind the longer the load lasted.
    public var foldBatchSize: Int { 1000 }

    public func foldPending(limit: Int = 500) async throws -> Int {
        let client = client, logger = logger
        do {
            return try await statement("fold the log into the replica") {
                // Bounded: a commit on a primary demoted under it waits for ever for the
                // synchronous standby that was promoted away, and the projector must move on
                // to the pool the failover finds (the checkpoint lock keeps a late commit from
                // folding anything twice).
                try await withDeadline(.seconds(120), "fold a batch of the log") {
                    try await PostgresFolder(client: client, logger: logger).foldPending(limit: limit)
                }
            }
        } catch let error as DeadlineExceeded {
            recover(after: error)
            throw PostgresStatementError(description: "cannot fold the log into the replica: \(error)")
        }
    }

    public func progress() async throws -> (lastSeq: Int64, checkpoint: Int64) {
        try await statement("read the log's end and the projections' checkpoints") { try await readProgress() }
    }

    private func readProgress() async throws -> (lastSeq: Int64, checkpoint: Int64) {
        for try await (last, checkpoint) in try await client.query("""
            SELECT (SELECT last_seq FROM log_head), (SELECT coalesce(min(checkpoint), 0) FROM projections)
            """).decode((Int64, Int64).self) {
            return (last, checkpoint)
        }
        return (0, 0)
    }

    /// Registers projections new to this database; returns those whose version changed (they
    /// need `nexmirror rebuild`).
    @discardableResult
    public func prepareProjections() async throws -> [String] {
        var stale: [String] = []
        for projection in Projections.all {
            try await client.query("""
                INSERT INTO projections (name, version, checkpoint) VALUES (\(projection.name), \(Int64(projection.version)), 0)
                ON CONFLICT (name) DO NOTHING
                """)
            for try await version in try await client.query(
                "SELECT version FROM projections WHERE name = \(projection.name)"
            ).decode(Int64.self) where version != projection.version {
                stale.append(projection.name)
            }
        }
        return stale
    }
}
