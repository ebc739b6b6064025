import NIOCore
import NexMirrorStore
import PostgresNIO

/// Lends the fields of rows that arrive as one record each (`SELECT ROW(q.c0, …) FROM (…) q`) to
/// `RowWriter.write(raw:)`. postgres-nio makes a `PostgresCell` per column, with its name and
/// buffer retained and released, and that cost ~200 ns a value, more than the CSV writer; a
/// record is one cell, whose fields are read here in place: text is lent straight from the
/// received bytes, integers are read from their binary form, and only the rarer types go
/// through `PostgresReader.cell` (BENCHMARKS.md, "Rows as records").
struct PostgresRecordLender {
    /// The statement's column names, for the rarer types' cells and their errors.
    let columns: [String]
    private var cells: [RawCell] = []

    init(columns: [String]) {
        self.columns = columns
        cells.reserveCapacity(columns.count)
    }

    /// Hands `record` (a record's binary form: the field count, then for each field its type
    /// OID, its length or -1 for NULL, and its bytes) to `body`, valid during the call only.
    mutating func lend<Result>(_ record: ByteBuffer, to body: (Lent) throws -> Result) throws -> Result {
        cells.removeAll(keepingCapacity: true)
        return try record.withUnsafeReadableBytes { bytes in
            func int32(at offset: Int) throws -> Int32 {
                guard offset + 4 <= bytes.count else { throw Malformed() }
                return Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self))
            }
            let count = Int(try int32(at: 0))
            guard count == columns.count else { throw Malformed() }
            var offset = 4
            for column in 0..<count {
                let oid = UInt32(bitPattern: try int32(at: offset))
                let length = Int(try int32(at: offset + 4))
                offset += 8
                guard length >= 0 else {
                    cells.append(.null)
                    continue
                }
                guard offset + length <= bytes.count else { throw Malformed() }
                let field = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
                let start = offset
                offset += length
                switch (oid, length) {
                case (PostgresDataType.int8.rawValue, 8):
                    cells.append(.integer(Int64(bigEndian: field.loadUnaligned(as: Int64.self))))
                case (PostgresDataType.int4.rawValue, 4):
                    cells.append(.integer(Int64(Int32(bigEndian: field.loadUnaligned(as: Int32.self)))))
                case (PostgresDataType.int2.rawValue, 2):
                    cells.append(.integer(Int64(Int16(bigEndian: field.loadUnaligned(as: Int16.self)))))
                case (PostgresDataType.bool.rawValue, 1):
                    cells.append(.integer(field[0] == 0 ? 0 : 1))
                case (PostgresDataType.text.rawValue, _), (PostgresDataType.varchar.rawValue, _),
                    (PostgresDataType.bpchar.rawValue, _), (PostgresDataType.name.rawValue, _),
                    (PostgresDataType.json.rawValue, _):
                    cells.append(.text(field.assumingMemoryBound(to: UInt8.self)))
                // Binary jsonb starts with its format version (1), then the text.
                case (PostgresDataType.jsonb.rawValue, 1...) where field[0] == 1:
                    cells.append(.text(UnsafeRawBufferPointer(rebasing: field.dropFirst()).assumingMemoryBound(to: UInt8.self)))
                default:
                    let cell = PostgresCell(
                        bytes: record.getSlice(at: record.readerIndex + start, length: length),
                        dataType: PostgresDataType(oid), format: .binary, columnName: columns[column],
                        columnIndex: column)
                    cells.append(.other(PostgresReader.cell(cell)))
                }
            }
            return try body(Lent(cells: cells))
        }
    }

    /// A record shorter than its lengths say, or with another field count than the statement:
    /// the server sent something other than the record that was asked for.
    struct Malformed: Error, CustomStringConvertible {
        var description: String { "a row came back in a form nexmirror does not read" }
    }

    /// One lent row.
    struct Lent: ResultRow {
        let cells: [RawCell]
        var columnCount: Int { cells.count }
        func raw(at column: Int) -> RawCell { cells[column] }
    }
}
