import Logging
import PostgresNIO

extension PostgresStore {
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
                swapPool(to: try Self.startPool(url, endpoint, runner: runner, logger: logger)).stop()
                logger.notice("PostgreSQL: connected to \(endpoint) after a failure")
                return
            } catch {
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// True while a search for another server runs: the receiver is not ready meanwhile.
    var isRecovering: Bool { recovery.withLock { $0 != nil } }
}
