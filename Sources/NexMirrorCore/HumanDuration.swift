/// Durations as operators write them, one syntax for every flag that takes one (`--sync-every`,
/// `--silence-after`, `--swap-wait`…): `500ms`, `90s`, `45m`, `6h`, `2d`, `1w`, decimals (`1.5h`)
/// or several combined (`1h30m`).
public enum HumanDuration {
    private static let units: [String: Double] = [
        "ms": 0.001, "s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800,
    ]

    /// Seconds, or nil when the text is not a positive duration.
    public static func seconds(_ text: String) -> Double? {
        var rest = Substring(text.lowercased())
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unit.count)
            guard let value = Double(number), let scale = units[String(unit)] else { return nil }
            total += value * scale
        }
        guard total > 0, total.isFinite else { return nil }
        return total
    }

    /// The duration, or nil when the text is not a positive duration.
    public static func parse(_ text: String) -> Duration? {
        seconds(text).map { .milliseconds(Int64(($0 * 1000).rounded())) }
    }

    /// A short form for people: `2d 4h`, `45m`, `30s`.
    public static func describe(_ seconds: Double) -> String {
        var rest = Int(seconds.rounded())
        if rest < 60 { return "\(rest)s" }
        var parts: [String] = []
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] where rest >= size {
            parts.append("\(rest / size)\(unit)")
            rest %= size
        }
        return parts.prefix(2).joined(separator: " ")
    }
}

extension Duration {
    /// The duration in seconds, fractions included.
    public var inSeconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
