import SystemPackage

/// The safe alternative to `BufferedOutput`: a `[UInt8]` that grows as needed, written with
/// swift-system's `FileDescriptor.writeAll` (which retries on EINTR and short writes).
final class ByteArrayOutput {
    private let descriptor: FileDescriptor
    private var buffer: [UInt8] = []
    private static let chunk = 64 * 1024

    init(descriptor: Int32) {
        self.descriptor = FileDescriptor(rawValue: descriptor)
        buffer.reserveCapacity(2 * Self.chunk)
    }

    @inline(__always) func write(byte: UInt8) { buffer.append(byte) }

    func write(bytes: UnsafeBufferPointer<UInt8>) { buffer.append(contentsOf: bytes) }

    func write(integer: Int64) { withDecimalDigits(of: integer) { write(bytes: $0) } }

    func flushIfFull() throws { if buffer.count >= Self.chunk { try flush() } }

    func flush() throws {
        defer { buffer.removeAll(keepingCapacity: true) }
        _ = try buffer.withUnsafeBytes { try descriptor.writeAll($0) }
    }
}
