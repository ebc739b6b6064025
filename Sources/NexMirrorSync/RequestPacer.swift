import Foundation

/// Spaces request starts so the API is never asked faster than 10 per second nor faster than
/// the per-minute pace, and holds every request back after a 409/429 until `Retry-After` has
/// passed. Even spacing (rather than bursts up to the limit) keeps any 1 s or 60 s window
/// within both limits whatever the window's alignment.
public actor RequestPacer {
    /// Nexudus: "1 req/100 ms" (SPEC §7: 10/s stays the cap whatever the pace).
    public static let minimumInterval: Duration = .milliseconds(100)

    public let interval: Duration
    private var nextStart: ContinuousClock.Instant = .now

    public init(requestsPerMinute: Int) {
        let pace = Duration.seconds(60) / max(1, requestsPerMinute)
        interval = max(pace, Self.minimumInterval)
    }

    /// Waits until a request may start, and books that slot.
    public func admit() async throws {
        let now = ContinuousClock.now
        let start = max(now, nextStart)
        nextStart = start + interval
        if start > now { try await Task.sleep(until: start, clock: .continuous) }
    }

    /// No request starts before `delay` from now.
    public func holdOff(for delay: Duration) {
        nextStart = max(nextStart, .now + delay)
    }

    public var requestsPerSecond: Double { 1 / interval.seconds }
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
