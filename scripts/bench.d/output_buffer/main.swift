import Foundation

/// Both buffers behind the calls the CSV writer makes, so one generic loop drives either.
protocol ByteSink: AnyObject {
    func write(byte: UInt8)
    func write(bytes: UnsafeBufferPointer<UInt8>)
    func write(integer: Int64)
    func flushIfFull() throws
    func flush() throws
}
extension BufferedOutput: ByteSink {}
extension ByteArrayOutput: ByteSink {}

/// The CSV writer's field rule (DelimitedWriter.csvField), generic over the sink.
@inline(__always) func csvField<S: ByteSink>(_ text: UnsafeBufferPointer<UInt8>, to output: S) {
    var needsQuotes = false
    for byte in text where byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte == 0x0D || byte == 0x0A {
        needsQuotes = true
        break
    }
    guard needsQuotes else { return output.write(bytes: text) }
    output.write(byte: UInt8(ascii: "\""))
    for byte in text {
        if byte == UInt8(ascii: "\"") { output.write(byte: byte) }
        output.write(byte: byte)
    }
    output.write(byte: UInt8(ascii: "\""))
}

/// Rows shaped like `export bookings`: ids, names, an ISO date pair, a resource, a note that
/// sometimes needs quotes, a price.
let texts: [[UInt8]] = [
    "Meeting Room 1", "Zoë Martínez", "2026-03-01T10:00:00.0000000Z", "2026-03-01T11:30:00.0000000Z",
    "hot desk, north wing", "Board \"Oak\" room", "Anna Schmidt", "12954.32",
].map { Array($0.utf8) }

func export<S: ByteSink>(rows: Int, to output: S) throws {
    for row in 0..<rows {
        output.write(integer: Int64(1_419_000_000 + row))
        for column in 0..<7 {
            output.write(byte: UInt8(ascii: ","))
            texts[(row + column) % texts.count].withUnsafeBufferPointer { csvField($0, to: output) }
        }
        output.write(byte: 0x0D)
        output.write(byte: 0x0A)
        try output.flushIfFull()
    }
    try output.flush()
}

let rows = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 1_000_000
let devNull = open("/dev/null", O_WRONLY)
let clock = ContinuousClock()
func median(_ body: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<7 {
        let elapsed = try clock.measure(body)
        times.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15)
    }
    return times.sorted()[times.count / 2]
}
let unsafe = try median { try export(rows: rows, to: BufferedOutput(descriptor: devNull)) }
let safe = try median { try export(rows: rows, to: ByteArrayOutput(descriptor: devNull)) }
print(String(format: "%d rows: BufferedOutput %.1f ms, [UInt8] + swift-system %.1f ms (%.2fx)", rows, unsafe, safe, safe / unsafe))
