/// Where `--db` (or `NEXMIRROR_DB`) points (SPEC §6): a `postgresql://` or `postgres://` URL
/// selects PostgreSQL, anything else is a SQLite file path.
public enum StoreLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgreSQL(url: String)

    public init(_ value: String) {
        let lowered = value.lowercased()
        if lowered.hasPrefix("postgresql://") || lowered.hasPrefix("postgres://") {
            self = .postgreSQL(url: value)
        } else {
            self = .sqlite(path: value)
        }
    }
}
