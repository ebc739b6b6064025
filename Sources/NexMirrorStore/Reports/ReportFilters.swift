import Foundation
import NexMirrorCore

/// `--from`, `--to` and `--business`, as instants and an id; stores bind them as parameters.
public struct ReportFilters: Sendable, Equatable {
    /// Inclusive.
    public let from: Timestamp?
    /// Exclusive.
    public let to: Timestamp?
    public let business: Int64?

    public init(from: String?, to: String?, business: Int64?) throws(ReportError) {
        self.from = try from.map { text throws(ReportError) in
            try Self.parse(Self.monthStart(text) ?? text, option: "--from")
        }
        self.to = try to.map { text throws(ReportError) in
            // A month (2026-03) or a bare date includes the whole month or day.
            if let month = Self.monthStart(text, next: true) { return try Self.parse(month, option: "--to") }
            let instant = try Self.parse(text, option: "--to")
            let isBareDate = text.count == 10
            return isBareDate ? Timestamp(ticks: instant.ticks + 86_400 * Timestamp.ticksPerSecond) : instant
        }
        self.business = business
        if let start = self.from, let end = self.to, end <= start { throw .toBeforeFrom }
    }

    /// `YYYY-MM` as the date its month starts on (or the next month's, for an inclusive end).
    public static func monthStart(_ text: String, next: Bool = false) -> String? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 7, parts.count == 2, parts[0].count == 4, parts[1].count == 2,
            var year = Int(parts[0]), var month = Int(parts[1]), (1...12).contains(month)
        else { return nil }
        if next {
            month += 1
            if month == 13 { (year, month) = (year + 1, 1) }
        }
        return String(format: "%04d-%02d-01", year, month)
    }

    private static func parse(_ text: String, option: String) throws(ReportError) -> Timestamp {
        guard let timestamp = Timestamp(parsing: text) else { throw .badTime(option: option, text: text) }
        return timestamp
    }

    /// The named parameters the reports' SQL uses (`:from`, `:to`, `:business`).
    public var parameters: [String: SQLValue] {
        var values: [String: SQLValue] = [:]
        if let from { values["from"] = .text(from.description) }
        if let to { values["to"] = .text(to.description) }
        if let business { values["business"] = .integer(business) }
        return values
    }

    /// SQL conditions over fixed column expressions; values stay parameters.
    public func conditions(time: String, business businessCondition: String) -> String {
        var parts: [String] = []
        if from != nil { parts.append("\(time) >= :from") }
        if to != nil { parts.append("\(time) < :to") }
        if business != nil { parts.append(businessCondition) }
        return parts.isEmpty ? "" : " WHERE " + parts.joined(separator: " AND ")
    }
}
