import NexMirrorCore

/// How far a rebuild has come, for a progress bar; with `swapWait`, why it has not finished yet.
public struct RebuildProgress: Sendable {
    public let eventsRead: Int
    public let eventsTotal: Int
    /// Set when an attempt to swap the rebuilt tables in timed out behind other connections.
    public let swapWait: SwapWait?

    public init(eventsRead: Int, eventsTotal: Int, swapWait: SwapWait? = nil) {
        self.eventsRead = eventsRead
        self.eventsTotal = eventsTotal
        self.swapWait = swapWait
    }
}

/// How a rebuild's swap waits for connections that hold the live replica tables (a long
/// `query`, `check`, a report): each attempt queues for the tables' exclusive lock at most
/// `attemptTimeout`, since readers and projector folds queue behind it meanwhile; between
/// attempts it folds what arrived and backs off, until `totalWait` has passed.
public struct SwapPolicy: Sendable {
    public var totalWait: Duration
    public var attemptTimeout: Duration

    public init(totalWait: Duration = .seconds(600), attemptTimeout: Duration = .seconds(1)) {
        self.totalWait = totalWait
        self.attemptTimeout = attemptTimeout
    }

    public static let standard = SwapPolicy()
}

/// A connection holding a lock on the live replica tables while a rebuild waits to swap them.
public struct LockHolder: Sendable, CustomStringConvertible {
    public let pid: Int
    public let applicationName: String
    /// `active`, `idle in transaction`…
    public let state: String
    /// When its transaction began (UTC, to the second), if it is in one.
    public let transactionStart: String?
    public let transactionSeconds: Double?

    public init(pid: Int, applicationName: String, state: String, transactionStart: String?, transactionSeconds: Double?) {
        self.pid = pid
        self.applicationName = applicationName
        self.state = state
        self.transactionStart = transactionStart
        self.transactionSeconds = transactionSeconds
    }

    /// `pid 4242 (nexmirror check, active, transaction open 35 s since 2026-12-05T23:40:01Z)`.
    public var description: String {
        var parts = [applicationName.isEmpty ? "no application_name" : applicationName]
        if !state.isEmpty { parts.append(state) }
        if let transactionStart, let transactionSeconds {
            parts.append("transaction open \(Int(transactionSeconds.rounded())) s since \(transactionStart)")
        }
        return "pid \(pid) (\(parts.joined(separator: ", ")))"
    }

    /// `pid 1 (…), pid 2 (…)`, or what to say when the holders were gone by the time they were looked up.
    public static func describe(_ holders: [LockHolder]) -> String {
        holders.isEmpty ? "connections that have let go since" : holders.map(\.description).joined(separator: ", ")
    }
}

/// A swap attempt that timed out behind `holders`; the rebuild tries again in `retryIn`.
public struct SwapWait: Sendable {
    public let attempt: Int
    public let waited: Duration
    public let limit: Duration
    public let retryIn: Duration
    public let holders: [LockHolder]

    public init(attempt: Int, waited: Duration, limit: Duration, retryIn: Duration, holders: [LockHolder]) {
        self.attempt = attempt
        self.waited = waited
        self.limit = limit
        self.retryIn = retryIn
        self.holders = holders
    }

    /// One line for the operator.
    public var description: String {
        String(
            format: "rebuild: swap attempt %d waited behind %@; %.1f s of %.0f s spent, retrying in %.1f s",
            attempt, LockHolder.describe(holders), waited.inSeconds, limit.inSeconds, retryIn.inSeconds)
    }
}

/// The swap could not get the live tables within the policy's total wait; the live replica is
/// as it was, and the rebuilt tables were dropped.
public struct SwapTimedOut: Error, CustomStringConvertible {
    public let waited: Duration
    public let holders: [LockHolder]

    public init(waited: Duration, holders: [LockHolder]) {
        self.waited = waited
        self.holders = holders
    }

    public var description: String {
        String(
            format: "rebuild gave up after %.0f s waiting to swap the rebuilt tables in, held by %@; "
                + "the replica is unchanged: run it again once they finish, or with a longer --swap-wait",
            waited.inSeconds, LockHolder.describe(holders))
    }
}

/// What a rebuild did, for its summary line.
public struct RebuildSummary: Sendable {
    public let projections: [String]
    public let events: Int
    public let seconds: Double
    public var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : Double(events) }

    public init(projections: [String], events: Int, seconds: Double) {
        self.projections = projections
        self.events = events
        self.seconds = seconds
    }
}
