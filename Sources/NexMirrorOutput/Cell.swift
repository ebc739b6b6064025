import Foundation
import GRDB

/// One value of a result row, as SQLite stores it, plus exact decimals computed by reports.
public enum Cell: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    /// A number already written exactly (`12954.32`): printed as is, a number in JSON.
    case decimal(String)
    case text(String)
    case blob(Data)

    public init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let integer): self = .integer(integer)
        case .double(let real): self = .real(real)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .blob(data)
        }
    }

    public static func row(_ row: Row) -> [Cell] {
        (0..<row.count).map { Cell(row[$0] as DatabaseValue) }
    }

    /// The value as text; nil for NULL. Reals use Swift's shortest round-trip form, so a stored
    /// 1608.54 prints as `1608.54`, never `1608.5399999999999`. Blobs print as their text when
    /// they are UTF-8 (a delivery body), else as PostgreSQL-style hex `\x0a1b…`.
    public var rendered: String? {
        switch self {
        case .null: nil
        case .integer(let integer): String(integer)
        case .real(let real): real.description
        case .decimal(let decimal): decimal
        case .text(let text): text
        case .blob(let data):
            String(validating: data, as: UTF8.self) ?? "\\x" + data.map { String(format: "%02x", $0) }.joined()
        }
    }

    public var isNumber: Bool {
        switch self {
        case .integer, .decimal: true
        case .real(let real): real.isFinite
        default: false
        }
    }
}
