import Logging
import NexMirrorStore
import PostgresNIO

extension PostgresStore {
    /// Wakes the projector when any receiver commits (the append function NOTIFYs), on a
    /// dedicated connection (the pool has no LISTEN). Also yields after every (re)connect,
    /// since notifications sent while nobody listened are lost; the projector polls as well.
    public func commitsElsewhere() -> AsyncStream<Void>? {
        // The store opened with this configuration, so it builds again.
        guard (try? url.connectionConfiguration(endpoint)) != nil else { return nil }
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let quiet = Self.quiet(logger)
        let task = Task { [quiet] in
            var attempt = 0
            while !Task.isCancelled {
                attempt += 1
                do {
                    // The host the pool uses now, which a failover may have changed.
                    let configuration = try url.connectionConfiguration(endpoint)
                    let connection = try await PostgresConnection.connect(
                        configuration: configuration, id: attempt, logger: quiet)
                    defer { Task { try? await connection.close() } }
                    try await connection.listen(on: "nexmirror_events") { notifications in
                        continuation.yield()
                        for try await _ in notifications { continuation.yield() }
                    }
                } catch {
                    // PostgreSQL is down, restarting or failing over: the poll keeps folding once
                    // it is back. This connection is the first to notice a server gone (the
                    // pool only finds out when a statement waits for it), so it starts the
                    // search for the host to use now.
                    if !Task.isCancelled { recover(.connection) }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
