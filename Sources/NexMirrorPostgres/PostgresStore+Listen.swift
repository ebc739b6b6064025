import Logging
import NexMirrorStore
import PostgresNIO

extension PostgresStore {
    /// Wakes the projector when any receiver commits (the append function NOTIFYs), on a
    /// dedicated connection (the pool has no LISTEN). Also yields after every (re)connect,
    /// since notifications sent while nobody listened are lost; the projector polls as well.
    public func commitsElsewhere() -> AsyncStream<Void>? {
        // The store opened with this configuration, so it builds again.
        guard let configuration = try? url.connectionConfiguration() else { return nil }
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        var quiet = logger
        quiet.logLevel = .critical
        let task = Task { [quiet] in
            var attempt = 0
            while !Task.isCancelled {
                attempt += 1
                do {
                    let connection = try await PostgresConnection.connect(
                        configuration: configuration, id: attempt, logger: quiet)
                    defer { Task { try? await connection.close() } }
                    try await connection.listen(on: "nexmirror_events") { notifications in
                        continuation.yield()
                        for try await _ in notifications { continuation.yield() }
                    }
                } catch {
                    // PostgreSQL is down or restarting: the poll keeps folding once it is back.
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
