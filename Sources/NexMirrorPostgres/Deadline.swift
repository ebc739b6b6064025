import Synchronization

/// Runs `operation`, but gives up after `limit`: a receiver must answer 503 while PostgreSQL is
/// down or locked, not hang until the client times out. Whichever side loses is cancelled: the
/// timer once the operation finishes, the operation once the timer fires (the caller is answered
/// at once, not when the operation notices; a commit that lands late anyway is then a duplicate
/// on Nexudus's retry, never a lost 200).
func withDeadline<T: Sendable>(
    _ limit: Duration, _ what: String, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = Race<T>()
    return try await withCheckedThrowingContinuation { continuation in
        race.start(continuation)
        let work = Task {
            do { race.finish(.success(try await operation())) } catch { race.finish(.failure(error)) }
        }
        race.timer(Task {
            try? await Task.sleep(for: limit)
            if race.finish(.failure(DeadlineExceeded(what: what, limit: limit))) { work.cancel() }
        })
    }
}

/// Whichever of the operation and the timer finishes first resumes the caller, once, and the
/// timer is cancelled when the operation wins.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var timer: Task<Void, Never>?
        var finished = false
    }
    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Keeps the timer to cancel it, or cancels it now when the operation has already won.
    func timer(_ timer: Task<Void, Never>) {
        let finished = state.withLock { state in
            if !state.finished { state.timer = timer }
            return state.finished
        }
        if finished { timer.cancel() }
    }

    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let (continuation, timer) = state.withLock { state in
            state.finished = true
            defer { state.timer = nil }
            return (state.continuation.take(), state.timer)
        }
        guard let continuation else { return false }
        continuation.resume(with: result)
        timer?.cancel()
        return true
    }
}

struct DeadlineExceeded: Error, CustomStringConvertible {
    let what: String
    let limit: Duration
    var description: String { "PostgreSQL did not \(what) within \(limit)" }
}
