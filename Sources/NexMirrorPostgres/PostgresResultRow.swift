import NIOCore
import NexMirrorStore
import PostgresNIO

/// Lends the columns of PostgreSQL result rows to `RowWriter.write(raw:)` without a `String` or
/// a `Cell` per value: text is copied into one buffer reused for every row, integers are read
/// from their binary form, and only the rarer types (numeric, real, bytea, uuid, dates) go
/// through `PostgresReader.cell`. Building a `Cell` and a `String` per value cost more than the
/// rest of a long CSV read (BENCHMARKS.md, "PostgreSQL reads and rebuild against SQLite").
final class PostgresRowLender {
    private var scratch: UnsafeMutableRawBufferPointer
    private var cells: [RawCell] = []
    /// Where each text cell's bytes start in `scratch`; their pointers are made once the row is
    /// copied (`scratch` may grow while it is).
    private var spans: [(column: Int, offset: Int, count: Int)] = []

    init() { scratch = .allocate(byteCount: 64 * 1024, alignment: 1) }

    deinit { scratch.deallocate() }

    /// Hands `row` to `body` as a `ResultRow` whose text is valid during the call only.
    func lend<Result>(_ row: PostgresRow, to body: (Lent) throws -> Result) rethrows -> Result {
        cells.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
        var used = 0
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
                let count = bytes.readableBytes
                if used + count > scratch.count { grow(to: used + count) }
                bytes.withUnsafeReadableBytes { source in
                    if count > 0 { (scratch.baseAddress! + used).copyMemory(from: source.baseAddress!, byteCount: count) }
                }
                spans.append((cells.count, used, count))
                cells.append(.null)  // made a `.text` below, once `scratch` stops moving
                used += count
            default:
                cells.append(.other(PostgresReader.cell(cell)))
            }
        }
        let base = scratch.baseAddress!.assumingMemoryBound(to: UInt8.self)
        for span in spans {
            cells[span.column] = .text(UnsafeBufferPointer(start: base + span.offset, count: span.count))
        }
        return try body(Lent(cells: cells))
    }

    private func grow(to needed: Int) {
        let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: max(needed, 2 * scratch.count), alignment: 1)
        larger.copyMemory(from: UnsafeRawBufferPointer(scratch))
        scratch.deallocate()
        scratch = larger
    }

    /// One lent row.
    struct Lent: ResultRow {
        let cells: [RawCell]
        var columnCount: Int { cells.count }
        func raw(at column: Int) -> RawCell { cells[column] }
    }
}
