/// What one file (or all of them) contributed.
public struct ImportTally: CustomStringConvertible, Sendable, Equatable {
    public var appended = 0
    public var duplicates = 0
    public var quarantined = 0
    public var bad = 0

    public init() {}

    public mutating func add(_ outcomes: [(delivery: NewDelivery, result: AppendResult)]) {
        for (delivery, result) in outcomes {
            if result.duplicate {
                duplicates += 1
            } else {
                appended += 1
                if delivery.problem != nil { quarantined += 1 }
            }
        }
    }

    public mutating func merge(_ other: ImportTally) {
        appended += other.appended
        duplicates += other.duplicates
        quarantined += other.quarantined
        bad += other.bad
    }

    public var description: String {
        "\(appended) appended (\(quarantined) quarantined), \(duplicates) duplicate\(duplicates == 1 ? "" : "s"), "
            + "\(bad) skipped"
    }
}
