/// Whether a logged delivery is folded into the replica or kept aside, as stored in
/// `events.status` (SPEC names: the strings never change).
public enum DeliveryStatus: String, Sendable, CaseIterable {
    /// Decoded and folded (or waiting to be folded).
    case ok
    /// Kept in the log with the reason in `events.error`, never folded.
    case quarantined
}
