/// One thing `nexmirror check` found wrong, printed as one line: `area: what`.
public struct CheckFinding: Sendable, CustomStringConvertible {
    /// `integrity`, `events`, or the replica table concerned.
    public let area: String
    public let message: String
    public var description: String { "\(area): \(message)" }

    public init(area: String, message: String) {
        self.area = area
        self.message = message
    }
}

/// What `check` found, and what it saw that is not a finding.
public struct CheckReport: Sendable {
    public package(set) var findings: [CheckFinding] = []
    public package(set) var events = 0
    /// Deliveries logged but not yet folded, per projection: lag, not damage.
    public package(set) var lag: [(projection: String, deliveries: Int)] = []
    public package(set) var tablesCompared = 0
    public package(set) var rowsCompared = 0

    package init() {}
}
