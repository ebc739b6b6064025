/// Why a sync or a webhooks command stopped; each text is one line the operator can act on.
public enum SyncError: Error, Sendable, CustomStringConvertible {
    /// Missing or unreadable settings (credentials, token file).
    case configuration(String)
    /// Sign-in or refresh refused, naming where the credentials came from.
    case authentication(String)
    /// The API kept failing after the bounded retries.
    case api(String)
    /// The event log could not commit.
    case store(String)

    public var description: String {
        switch self {
        case .configuration(let text), .authentication(let text), .api(let text), .store(let text): text
        }
    }
}
