import Foundation
import NexMirrorCore

/// Spaces request starts so the API is never asked faster than 10 per second nor faster than
/// the per-minute pace, keeps any hour within Nexudus' 5,000 requests, and holds every request
/// back after a 409/429 until `Retry-After` has passed. Even spacing (rather than bursts up to
/// the limit) keeps any 1 s or 60 s window within both limits whatever the window's alignment.
///
/// The hourly budget is a sliding window over the starts themselves: a request starts no
/// earlier than one window after the start `budget` requests before it. A short sync runs at
/// the full pace; a long one (120/min would spend 5,000 requests in under 42 minutes) then waits
/// for the oldest starts to age out, so it averages 5,000 an hour instead of drawing 409s.
public actor RequestPacer {
    /// Nexudus: "1 req/100 ms" (SPEC §7: 10/s stays the cap whatever the pace).
    public static let minimumInterval: Duration = .milliseconds(100)
    /// Nexudus: 5,000 requests an hour for all methods (REST-API.md §5); 200,000 a day follows.
    public static let hourlyLimit = 5000

    public nonisolated let interval: Duration
    /// At most `budget` starts in any `window`.
    public nonisolated let budget: Int
    public nonisolated let window: Duration
    private var nextStart: ContinuousClock.Instant = .now
    /// The last `budget` starts: a ring whose oldest entry is at `oldest` once it is full.
    private var starts: [ContinuousClock.Instant] = []
    private var oldest = 0

    /// `requestsPerHour` above Nexudus' 5,000 is lowered to it, like the pace to 10/s. The API
    /// counts arrivals, which jitter with the network, so the hour is booked 10 s longer.
    public init(requestsPerMinute: Int, requestsPerHour: Int = RequestPacer.hourlyLimit) {
        self.init(
            requestsPerMinute: requestsPerMinute, budget: min(requestsPerHour, Self.hourlyLimit),
            window: .seconds(3600 + 10))
    }

    /// A budget over any window; tests use seconds instead of an hour.
    public init(requestsPerMinute: Int, budget: Int, window: Duration) {
        let pace = Duration.seconds(60) / max(1, requestsPerMinute)
        interval = max(pace, Self.minimumInterval)
        self.budget = max(1, budget)
        self.window = window
    }

    /// Waits until a request may start, and books that slot.
    public func admit() async throws {
        let now = ContinuousClock.now
        let start = earliestStart(after: now)
        book(start)
        if start > now { try await Task.sleep(until: start, clock: .continuous) }
    }

    /// No request starts before `delay` from now.
    public func holdOff(for delay: Duration) {
        nextStart = max(nextStart, .now + delay)
    }

    public var requestsPerSecond: Double { 1 / interval.inSeconds }

    /// Seconds until the last of `count` more requests starts, if none is held off: the pace,
    /// plus the waits the window's budget imposes. What the ETA is made of.
    public func secondsFor(_ count: Int) -> Double {
        guard count > 0 else { return 0 }
        let now = ContinuousClock.now
        // Only the starts still inside a window from now matter; simulate on a copy.
        var ring = starts.count < budget ? starts : Array(starts[oldest...] + starts[..<oldest])
        var next = nextStart
        var last = now
        for index in 0..<count {
            var start = max(now, next)
            if ring.count >= budget { start = max(start, ring[ring.count - budget] + window) }
            ring.append(start)
            next = start + interval
            last = start
            // Keep the copy bounded on long estimates: only the last `budget` starts matter.
            if ring.count > 2 * budget && index % budget == 0 { ring.removeFirst(ring.count - budget) }
        }
        return (last - now).inSeconds
    }

    private func earliestStart(after now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        var start = max(now, nextStart)
        if starts.count == budget { start = max(start, starts[oldest] + window) }
        return start
    }

    private func book(_ start: ContinuousClock.Instant) {
        if starts.count < budget {
            starts.append(start)
        } else {
            starts[oldest] = start
            oldest = (oldest + 1) % budget
        }
        nextStart = start + interval
    }
}
