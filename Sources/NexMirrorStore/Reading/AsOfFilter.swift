import NexMirrorCore

/// `--as-of T`: the replica as the space stood at T folds the deliveries whose version time (their
/// `UpdatedOn`; a delivery without one: its `received_at`) is at or before T. Every backend
/// applies this one condition, to the deliveries it folds and to the `events` it then shows.
public enum AsOfFilter {
    /// The condition on a row of the log, T being the statement's parameter `parameter`.
    public static func condition(_ dialect: SQLDialect, parameter: String) -> String {
        // Text timestamps are canonical (7 digits, Z): byte order is time order, whatever the
        // database's collation.
        "\(dialect.text("coalesce(updated_on, received_at)")) <= \(parameter)"
    }

    /// The condition with T written in, for a view (which takes no parameter). T is our own
    /// canonical text (digits, '-', ':', 'T', '.', 'Z'), never input.
    public static func condition(_ dialect: SQLDialect, at instant: Timestamp) -> String {
        condition(dialect, parameter: "'\(instant.description)'")
    }
}
