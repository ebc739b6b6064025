/// Why `send` could not deliver.
enum SendError: Error, CustomStringConvertible {
    case unreachable(url: String, reason: String)

    var description: String {
        switch self {
        case .unreachable(let url, let reason): "cannot reach \(url): \(reason)"
        }
    }
}

/// Why `verify` judged a signature invalid; each line starts with `invalid:` for scripts.
enum VerifyError: Error, CustomStringConvertible {
    case emptySignature
    case malformed(detail: String)
    /// No secret signs the body; `diagnosis` is the likeliest cause.
    case noMatch(diagnosis: String)

    var description: String {
        switch self {
        case .emptySignature: "invalid: the signature is empty"
        case .malformed(let detail): "invalid: malformed signature: \(detail)"
        case .noMatch(let diagnosis): "invalid: \(diagnosis)"
        }
    }
}

/// Why `sync` or `webhooks` stopped, beside the API's own `SyncError`s.
enum NexudusCommandError: Error, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case syncStopped(reason: String)
    case unknownLocations([Int64])
    case cannotChange(verb: String, action: String, business: Int64, reason: String)

    var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot open \(path): \(reason)"
        case .syncStopped(let reason): "sync stopped: \(reason)"
        case .unknownLocations(let ids): "no location with id \(ids.map(String.init).joined(separator: ", ")) in this account"
        case .cannotChange(let verb, let action, let business, let reason):
            "cannot \(verb) \(action) for business \(business): \(reason)"
        }
    }
}
