import Synchronization

/// Runs `operation`, but gives up after `limit`: a receiver must answer 503 while PostgreSQL is
/// down or locked, not hang until the client times out. The operation is left to finish on its
/// own (a commit that lands late is then a duplicate on Nexudus's retry, never a lost 200).
func withDeadline<T: Sendable>(
    _ limit: Duration, _ what: String, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = Race<T>()
    return try await withCheckedThrowingContinuation { continuation in
        race.start(continuation)
        let work = Task {
            do { race.finish(.success(try await operation())) } catch { race.finish(.failure(error)) }
        }
        Task {
            try? await Task.sleep(for: limit)
            if race.finish(.failure(DeadlineExceeded(what: what, limit: limit))) { work.cancel() }
        }
    }
}

/// Whichever of the operation and the timer finishes first resumes the caller, once.
private final class Race<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        guard let continuation = continuation.withLock({ $0.take() }) else { return false }
        continuation.resume(with: result)
        return true
    }
}

struct DeadlineExceeded: Error, CustomStringConvertible {
    let what: String
    let limit: Duration
    var description: String { "PostgreSQL did not \(what) within \(limit)" }
}
