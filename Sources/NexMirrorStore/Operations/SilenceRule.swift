import NexMirrorCore

/// When an action that was received before counts as `silent`.
///
/// Nexudus disables a webhook after 10 failed attempts and then sends nothing, so silence is
/// the failure to watch for. A fixed threshold cannot fit every action: CoworkerUpdate may
/// arrive every few minutes while TeamDeleted arrives once a month. So, unless
/// `--silence-after` sets one threshold for all, each action's threshold is learned from its
/// own deliveries of the last 30 days:
///
/// - with fewer than `minimumDeliveries` (5) of them there is no rhythm to learn, and the
///   threshold is 7 days (a whole weekly cycle);
/// - otherwise it is twice the longest gap between two consecutive deliveries in that window,
///   kept between 1 hour and 30 days. The longest gap already contains the quiet times the
///   action really has (nights, weekends); doubling it means a quiet spell must be clearly
///   longer than any seen in a month before it raises an alarm, and the 1-hour floor stops a
///   busy action from flapping after a short pause.
public struct SilenceRule: Sendable, Equatable {
    /// One threshold for every action (`--silence-after`); nil to learn each action's.
    public var fixed: Double?

    public static let window: Double = 30 * 86_400
    public static let minimumDeliveries = 5
    public static let fallback: Double = 7 * 86_400
    public static let floor: Double = 3_600
    public static let ceiling: Double = 30 * 86_400

    public init(fixed seconds: Double? = nil) { fixed = seconds }

    /// The threshold in seconds, and where it came from (`--silence-after`, `learned` or
    /// `default`), given the deliveries in the window and the longest gap between them.
    public func threshold(deliveriesInWindow: Int, longestGap: Double?) -> (seconds: Double, source: String) {
        if let fixed { return (fixed, "--silence-after") }
        guard deliveriesInWindow >= Self.minimumDeliveries, let longestGap else { return (Self.fallback, "default") }
        return (min(max(2 * longestGap, Self.floor), Self.ceiling), "learned")
    }

    /// True when nothing arrived for longer than `threshold` seconds before `now`.
    public static func isSilent(lastReceivedAt: Timestamp, now: Timestamp, threshold: Double) -> Bool {
        now.secondsSince1970 - lastReceivedAt.secondsSince1970 > threshold
    }
}
