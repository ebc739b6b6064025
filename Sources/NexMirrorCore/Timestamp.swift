/// An instant with .NET's 100 ns resolution, parsed from Json.NET's ISO-8601 forms and written
/// in the replica's canonical UTC text `YYYY-MM-DDTHH:MM:SS.fffffffZ`, whose text order is time
/// order.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 100-nanosecond ticks since 1970-01-01T00:00:00Z.
    public let ticks: Int64

    public static let ticksPerSecond: Int64 = 10_000_000

    public init(ticks: Int64) { self.ticks = ticks }

    public init(secondsSince1970 seconds: Double) {
        ticks = Int64((seconds * Double(Self.ticksPerSecond)).rounded())
    }

    public var secondsSince1970: Double { Double(ticks) / Double(Self.ticksPerSecond) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.ticks < rhs.ticks }

    /// Parses `YYYY-MM-DD`, optionally followed by `THH:MM[:SS[.f…]]` and `Z`, `±hh:mm`, `±hhmm`
    /// or nothing (read as UTC, as Json.NET's "unspecified" kind). Fractions beyond 7 digits are
    /// truncated. Returns nil for anything else.
    public init?(parsing text: some StringProtocol) {
        guard let parsed = Array(text.utf8).withUnsafeBufferPointer({ Timestamp(utf8: $0) }) else { return nil }
        self = parsed
    }

    /// Parses the same forms from UTF-8 bytes, such as a date inside a delivery body.
    public init?(utf8 text: UnsafeBufferPointer<UInt8>) {
        var reader = DigitReader(text)
        guard let year = reader.number(4), reader.skip("-"),
              let month = reader.number(2), reader.skip("-"),
              let day = reader.number(2),
              (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        var hour = 0, minute = 0, second = 0
        var fraction: Int64 = 0
        var offsetMinutes = 0
        if reader.skip("T") || reader.skip(" ") {
            guard let h = reader.number(2), reader.skip(":"), let m = reader.number(2),
                  h < 24, m < 60 else { return nil }
            hour = h
            minute = m
            if reader.skip(":") {
                guard let s = reader.number(2), s < 60 else { return nil }
                second = s
                if reader.skip(".") || reader.skip(",") {
                    var digits = 0
                    while let d = reader.digit() {
                        if digits < 7 { fraction = fraction * 10 + Int64(d) }
                        digits += 1
                    }
                    guard digits > 0 else { return nil }
                    for _ in min(digits, 7)..<7 { fraction *= 10 }
                }
            }
            if reader.skip("Z") || reader.skip("z") {
            } else if let sign = reader.sign() {
                guard let oh = reader.number(2), oh <= 18 else { return nil }
                _ = reader.skip(":")
                guard let om = reader.number(2), om < 60 else { return nil }
                offsetMinutes = sign * (oh * 60 + om)
            }
        }
        guard reader.atEnd else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        // .NET's DateTime range: an offset must not carry the instant past year 1 or 9999, whose
        // canonical text would no longer have 4 digits of year (found by the signed-garbage tests).
        guard (Self.minSeconds...Self.maxSeconds).contains(seconds) else { return nil }
        ticks = seconds * Self.ticksPerSecond + fraction
    }

    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, in seconds since 1970.
    static let minSeconds = Int64(daysFromCivil(year: 1, month: 1, day: 1)) * 86_400
    static let maxSeconds = Int64(daysFromCivil(year: 9999, month: 12, day: 31)) * 86_400 + 86_399

    /// The canonical UTC form, always with 7 fractional digits.
    public var description: String {
        let seconds = ticks >= 0 ? ticks / Self.ticksPerSecond : (ticks - Self.ticksPerSecond + 1) / Self.ticksPerSecond
        let fraction = ticks - seconds * Self.ticksPerSecond
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = Self.civilFromDays(Int(days))
        // Written digit by digit: this runs for every timestamp of every folded delivery.
        return String(unsafeUninitializedCapacity: 28) { buffer in
            var index = 0
            func put(_ value: Int, _ width: Int) {
                var value = value
                for offset in stride(from: width - 1, through: 0, by: -1) {
                    buffer[index + offset] = UInt8(truncatingIfNeeded: 0x30 + value % 10)
                    value /= 10
                }
                index += width
            }
            func put(_ character: UInt8) {
                buffer[index] = character
                index += 1
            }
            put(year, 4); put(0x2D); put(month, 2); put(0x2D); put(day, 2); put(0x54)
            put(secondOfDay / 3600, 2); put(0x3A); put(secondOfDay / 60 % 60, 2); put(0x3A)
            put(secondOfDay % 60, 2); put(0x2E); put(Int(fraction), 7); put(0x5A)
            return index
        }
    }

    /// The date part of the canonical form, `YYYY-MM-DD`.
    public var dateString: String { String(description.prefix(10)) }

    /// Normalises any accepted form to the canonical text, or nil when it is not a timestamp.
    public static func normalize(_ text: some StringProtocol) -> String? {
        Timestamp(parsing: text)?.description
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

private struct DigitReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var atEnd: Bool { index == bytes.count }

    mutating func digit() -> Int? {
        guard index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 else { return nil }
        defer { index += 1 }
        return Int(bytes[index] - 0x30)
    }

    mutating func number(_ width: Int) -> Int? {
        var value = 0
        for _ in 0..<width {
            guard let d = digit() else { return nil }
            value = value * 10 + d
        }
        return value
    }

    mutating func skip(_ character: Unicode.Scalar) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(character.value) else { return false }
        index += 1
        return true
    }

    mutating func sign() -> Int? {
        if skip("+") { return 1 }
        if skip("-") { return -1 }
        return nil
    }
}
