/// How far a rebuild has come, for a progress bar.
public struct RebuildProgress: Sendable {
    public let eventsRead: Int
    public let eventsTotal: Int

    public init(eventsRead: Int, eventsTotal: Int) {
        self.eventsRead = eventsRead
        self.eventsTotal = eventsTotal
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
