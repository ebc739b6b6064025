/// How a logged delivery was authenticated, as stored in `events.signature` (SPEC names: the
/// strings never change).
public enum SignatureForm: String, Sendable, CaseIterable {
    /// The HMAC of the bytes exactly as received matched.
    case raw
    /// The HMAC of the ASCII-folded body matched (Nexudus's form for non-ASCII text).
    case asciiFolded = "ascii-folded"
    /// Received with `--insecure-no-signature`: nothing was checked.
    case unsigned
    /// Appended by `nexmirror import`, which has no signature to check.
    case imported
    /// Fetched from the REST API by `nexmirror sync`.
    case api
    /// Logged by `nexmirror sync` for an id the API answers 404 for: a delete (see `APINotFound`).
    case api404 = "api-404"
}
