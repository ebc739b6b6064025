/// Hands `body` the decimal digits of `integer` (with its sign) from a stack buffer, so writing a
/// number costs no `String`.
@inline(__always)
func withDecimalDigits(of integer: Int64, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: 20 digits and a sign fit
    withUnsafeMutableBytes(of: &digits) { scratch in
        var magnitude = integer.magnitude
        var index = scratch.count
        repeat {
            index -= 1
            scratch[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        if integer < 0 {
            index -= 1
            scratch[index] = UInt8(ascii: "-")
        }
        body(UnsafeBufferPointer(rebasing: scratch.bindMemory(to: UInt8.self)[index...]))
    }
}
