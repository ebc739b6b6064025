import NIOCore
import NexMirrorStore
import PostgresNIO

/// Lends the columns of PostgreSQL result rows to `RowWriter.write(raw:)` without a `String` or
/// a `Cell` per value: text is copied into one buffer reused for every row, integers are read
/// from their binary form, and only the rarer types (numeric, real, bytea, uuid, dates) go
/// through `PostgresReader.cell`. Building a `Cell` and a `String` per value cost more than the
/// rest of a long CSV read (BENCHMARKS.md, "PostgreSQL reads and rebuild against SQLite").
/// Reads a statement that cannot be a subquery; the others come as records (`PostgresRecordLender`).
struct PostgresRowLender {
    /// A value type kept in a local `var`: a class's stored properties would cost a dynamic
    /// exclusivity check on every cell (7 % of a long `query` in `perf`).
    private var scratch: [UInt8] = []
    private var cells: [RawCell] = []
    /// Where each text cell's bytes are in `scratch`; their pointers are made once the row is
    /// copied (`scratch` may grow while it is).
    private var spans: [(column: Int, offset: Int, count: Int)] = []

    init() { scratch.reserveCapacity(64 * 1024) }

    /// Hands `row` to `body` as a `ResultRow` whose text is valid during the call only.
    mutating func lend<Result>(_ row: PostgresRow, to body: (Lent) throws -> Result) rethrows -> Result {
        cells.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
        scratch.removeAll(keepingCapacity: true)
        for cell in row {
            guard var bytes = cell.bytes else {
                cells.append(.null)
                continue
            }
            guard cell.format == .binary else {
                cells.append(.other(PostgresReader.cell(cell)))
                continue
            }
            switch cell.dataType {
            case .int8 where bytes.readableBytes == 8:
                cells.append(.integer(bytes.readInteger(as: Int64.self)!))
            case .int4 where bytes.readableBytes == 4:
                cells.append(.integer(Int64(bytes.readInteger(as: Int32.self)!)))
            case .int2 where bytes.readableBytes == 2:
                cells.append(.integer(Int64(bytes.readInteger(as: Int16.self)!)))
            case .bool where bytes.readableBytes == 1:
                cells.append(.integer(bytes.readInteger(as: UInt8.self)! == 0 ? 0 : 1))
            case .text, .varchar, .bpchar, .name, .json, .jsonb:
                // Binary jsonb starts with its format version (1), then the text.
                if cell.dataType == .jsonb {
                    guard bytes.readInteger(as: UInt8.self) == 1 else {
                        cells.append(.other(PostgresReader.cell(cell)))
                        continue
                    }
                }
                spans.append((cells.count, scratch.count, bytes.readableBytes))
                bytes.withUnsafeReadableBytes { scratch.append(contentsOf: $0) }  // one memcpy
                cells.append(.null)  // made a `.text` below, once `scratch` stops moving
            default:
                cells.append(.other(PostgresReader.cell(cell)))
            }
        }
        return try scratch.withUnsafeBufferPointer { text in
            for span in spans {
                cells[span.column] = .text(UnsafeBufferPointer(rebasing: text[span.offset..<span.offset + span.count]))
            }
            return try body(Lent(cells: cells))
        }
    }

    /// One lent row.
    struct Lent: ResultRow {
        let cells: [RawCell]
        var columnCount: Int { cells.count }
        func raw(at column: Int) -> RawCell { cells[column] }
    }
}
