/// The reports `export` writes (SPEC §5, §8).
public enum ReportName: String, CaseIterable, Sendable {
    case members, bookings, invoices, checkins, teams, proposals, contracts, occupancy, revenue, membership

    /// Any case, as typed on the command line.
    public init(named text: String) throws(ReportError) {
        guard let name = ReportName(rawValue: text.lowercased()) else { throw .unknownReport(text) }
        self = name
    }
}

/// Why `export` wrote nothing; each message says what to change.
public enum ReportError: Error, Equatable, CustomStringConvertible {
    case unknownReport(String)
    case badTime(option: String, text: String)
    case toBeforeFrom

    public var description: String {
        switch self {
        case .unknownReport(let report):
            "unknown report '\(report)'; reports: \(ReportName.allCases.map(\.rawValue).joined(separator: ", "))"
        case .badTime(let option, let text):
            "\(option) expects a date (2026-03-01), a month (2026-03) or a timestamp (2026-03-01T09:00:00Z), got '\(text)'"
        case .toBeforeFrom: "--to must come after --from"
        }
    }
}
