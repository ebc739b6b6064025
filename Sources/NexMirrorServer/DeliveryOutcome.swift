/// What became of one POST to `/webhooks/{action}`: the `outcome` label of
/// `nexmirror_deliveries_total` (SPEC names: the strings never change).
public enum DeliveryOutcome: String, Sendable, CaseIterable {
    /// Committed to the log for the first time (200).
    case accepted
    /// Already in the log; acknowledged again (200).
    case duplicate
    /// Committed but cannot be folded; kept with the reason (200).
    case quarantined
    /// The signature did not verify (401).
    case rejected
    /// The path names no Nexudus action (404).
    case unknownAction = "unknown_action"
    /// The body is over `--max-body-bytes` (413).
    case tooLarge = "too_large"
    /// The event log could not commit (503).
    case unavailable
}
