import NIOCore
import NexMirrorCore
import PostgresNIO

/// One column of a batch's rows as a PostgreSQL array parameter (binary format, NULLs kept), for
/// `INSERT … SELECT * FROM unnest($1, $2, …)`: one parameter per column instead of one per value,
/// so neither postgres-nio's binding nor PostgreSQL's parsing grows with the rows (a multi-row
/// `VALUES` list is parsed and analysed tuple by tuple).
struct PostgresColumnArray: PostgresDynamicTypeEncodable {
    /// What the column's non-NULL values are; a column mixing them has no array type here.
    enum Element {
        case integer, real, text

        var type: PostgresDataType { switch self { case .integer: .int8; case .real: .float8; case .text: .text } }
        var arrayType: PostgresDataType {
            switch self { case .integer: .int8Array; case .real: .float8Array; case .text: .textArray }
        }
        /// The array type as SQL names it, for the parameter's cast.
        var sqlArrayType: String { switch self { case .integer: "int8[]"; case .real: "float8[]"; case .text: "text[]" } }
    }

    let element: Element
    let rows: ArraySlice<[SQLValue]>
    let column: Int

    /// The column's element type, `nil` when every value is NULL (no type to give the array), or
    /// `.some(nil)` when its values are of different kinds.
    static func element(of rows: ArraySlice<[SQLValue]>, column: Int) -> Element?? {
        var found: Element?
        for row in rows {
            let kind: Element
            switch row[column] {
            case .null: continue
            case .integer: kind = .integer
            case .real: kind = .real
            case .text: kind = .text
            }
            if let found, found != kind { return .some(nil) }
            found = kind
        }
        guard let found else { return nil }
        return .some(found)
    }

    var psqlType: PostgresDataType { element.arrayType }
    var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        let hasNulls = rows.contains { $0[column] == .null }
        buffer.writeInteger(Int32(1))  // dimensions
        buffer.writeInteger(Int32(hasNulls ? 1 : 0))
        buffer.writeInteger(element.type.rawValue)
        buffer.writeInteger(Int32(rows.count))
        buffer.writeInteger(Int32(1))  // lower bound
        for row in rows {
            switch row[column] {
            case .null:
                buffer.writeInteger(Int32(-1))
            case .integer(let integer):
                buffer.writeInteger(Int32(8))
                buffer.writeInteger(integer)
            case .real(let real):
                buffer.writeInteger(Int32(8))
                buffer.writeInteger(real.bitPattern)
            case .text(let text):
                let lengthAt = buffer.writerIndex
                buffer.writeInteger(Int32(0))
                let length = buffer.writeString(text)
                buffer.setInteger(Int32(length), at: lengthAt)
            }
        }
    }
}
