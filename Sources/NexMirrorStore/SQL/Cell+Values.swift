/// A fetched value read as the shared store logic needs it, whichever backend fetched it:
/// SQLite's integers and PostgreSQL's bigint, numeric or float all come back as numbers.
extension Cell {
    package var int64Value: Int64? {
        switch self {
        case .integer(let value): value
        case .real(let value): Int64(exactly: value)
        case .decimal(let text): Int64(text)
        default: nil
        }
    }

    /// The value as an `Int`; 0 for NULL (a count or sum over nothing).
    package var intValue: Int { int64Value.map(Int.init) ?? 0 }

    package var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .real(let value): value
        case .decimal(let text): Double(text)
        default: nil
        }
    }

    package var textValue: String? {
        if case .text(let text) = self { text } else { nil }
    }
}
