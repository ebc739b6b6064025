import Foundation

/// One value of a result row, as the store holds it, plus exact decimals computed by reports.
public enum Cell: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    /// A number already written exactly (`12954.32`): printed as is, a number in JSON.
    case decimal(String)
    case text(String)
    case blob(Data)

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

/// A column of a row still inside the backend's cursor: text is lent, not copied, and is valid
/// only during the `RowWriter.write(raw:)` call that received it.
public enum RawCell {
    case null
    case integer(Int64)
    case text(UnsafeBufferPointer<UInt8>)
    case other(Cell)
}

/// A row still inside the backend's cursor.
public protocol ResultRow {
    var columnCount: Int { get }
    func raw(at column: Int) -> RawCell
}

extension ResultRow {
    /// The row as owned cells.
    public var cells: [Cell] {
        (0..<columnCount).map { column in
            switch raw(at: column) {
            case .null: .null
            case .integer(let integer): .integer(integer)
            case .text(let text): .text(String(decoding: text, as: UTF8.self))
            case .other(let cell): cell
            }
        }
    }
}

/// Streams a result set in one format: `begin` once, `write` per row, `end` once. A store
/// streams its cursor into it, so rows are never collected and memory stays flat.
public protocol RowWriter {
    mutating func begin(columns: [String]) throws
    mutating func write(_ row: [Cell]) throws
    mutating func end() throws
    /// A row straight from the cursor; writers that copy bytes (CSV) skip building cells.
    mutating func write(raw row: some ResultRow) throws
}

extension RowWriter {
    public mutating func write(raw row: some ResultRow) throws { try write(row.cells) }
}
