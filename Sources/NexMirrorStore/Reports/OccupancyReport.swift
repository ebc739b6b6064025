import NexMirrorCore

/// Booked hours per resource per UTC day. Bookings stream in; only one total per (day,
/// resource) is kept, so memory follows the size of the report, not the number of bookings.
public struct OccupancyReport {
    public static let columns = ["date", "resource_id", "resource_name", "bookings", "hours"]
    static let ticksPerDay = 86_400 * Timestamp.ticksPerSecond
    static let ticksPerHour = 3_600 * Timestamp.ticksPerSecond

    struct Key: Hashable, Comparable {
        let day: Int64
        let resourceId: Int64

        static func < (lhs: Key, rhs: Key) -> Bool { (lhs.day, lhs.resourceId) < (rhs.day, rhs.resourceId) }
    }

    struct Total {
        var resourceName: String?
        var bookings = 0
        var ticks: Int64 = 0
    }

    let filters: ReportFilters
    private var totals: [Key: Total] = [:]

    public init(filters: ReportFilters) { self.filters = filters }

    /// The bookings a store feeds in, in `from_time, id` order: those with a resource and both
    /// times that overlap `--from`/`--to`, and of the member's business for `--business`.
    public static func sql(_ filters: ReportFilters, dialect: SQLDialect = .sqlite) -> String {
        var conditions = ["from_time IS NOT NULL", "to_time IS NOT NULL", "resource_id IS NOT NULL"]
        if filters.from != nil { conditions.append("\(dialect.text("to_time")) > :from") }
        if filters.to != nil { conditions.append("\(dialect.text("from_time")) < :to") }
        if filters.business != nil {
            conditions.append("coworker_id IN (SELECT id FROM coworkers WHERE business_id = :business)")
        }
        return "SELECT resource_id, resource_name, from_time, to_time FROM bookings WHERE "
            + conditions.joined(separator: " AND ") + " ORDER BY \(dialect.ascending("from_time")), id"
    }

    /// Adds one booking's time, clipped to the range and split at UTC midnights.
    public mutating func add(resourceId: Int64, resourceName: String?, from: String, to: String) {
        guard let start = Timestamp(parsing: from), let end = Timestamp(parsing: to) else { return }
        let clippedStart = max(start.ticks, filters.from?.ticks ?? .min)
        let clippedEnd = min(end.ticks, filters.to?.ticks ?? .max)
        var pieceStart = clippedStart
        while pieceStart < clippedEnd {
            let day = Self.floorDiv(pieceStart, Self.ticksPerDay)
            let pieceEnd = min(clippedEnd, (day + 1) * Self.ticksPerDay)
            let key = Key(day: day, resourceId: resourceId)
            var total = totals[key, default: Total()]
            total.resourceName = resourceName ?? total.resourceName
            total.bookings += 1
            total.ticks += pieceEnd - pieceStart
            totals[key] = total
            pieceStart = pieceEnd
        }
    }

    public func write(to writer: inout some RowWriter) throws {
        try writer.begin(columns: Self.columns)
        for key in totals.keys.sorted() {
            let total = totals[key]!
            try writer.write([
                .text(Timestamp(ticks: key.day * Self.ticksPerDay).dateString), .integer(key.resourceId),
                total.resourceName.map(Cell.text) ?? .null, .integer(Int64(total.bookings)),
                .decimal(Self.hours(total.ticks)),
            ])
        }
        try writer.end()
    }

    /// Hours with two decimals, rounded half up from exact ticks (no floating point).
    static func hours(_ ticks: Int64) -> String {
        let hundredths = (ticks * 100 + ticksPerHour / 2) / ticksPerHour
        let fraction = String(hundredths % 100)
        return "\(hundredths / 100).\(fraction.count == 1 ? "0" + fraction : fraction)"
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : (a - b + 1) / b }
}
