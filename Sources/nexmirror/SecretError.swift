/// Why no usable webhook secret was found or made; each line names where a secret goes.
enum SecretError: Error, CustomStringConvertible {
    case emptyEnvironment
    case unreadable(file: String)
    case emptyFile(String)
    /// `sign` and `send` found no secret anywhere; `defaultFile` is where `serve` would create one
    /// (nil on PostgreSQL, which has none).
    case noneToSign(defaultFile: String?)
    /// `verify` found no secret anywhere.
    case noneToVerify(defaultFile: String?)
    case cannotCreate(String)
    /// `serve` on PostgreSQL, which has no file beside a database to create one in.
    case noneForPostgreSQL

    var description: String {
        switch self {
        case .emptyEnvironment: "NEXMIRROR_SECRET is set but holds no secret"
        case .unreadable(let file): "cannot read secret file \(file); check the path and its permissions"
        case .emptyFile(let file): "secret file \(file) is empty"
        case .noneToSign(.some(let defaultFile)):
            "no secret: pass --secret-file, set NEXMIRROR_SECRET, or run `nexmirror serve` once to create \(defaultFile)"
        case .noneToVerify(.some(let defaultFile)):
            "no secret configured: pass --secret-file, set NEXMIRROR_SECRET, or put it in \(defaultFile)"
        case .noneToSign(.none), .noneToVerify(.none):
            "no secret: on PostgreSQL pass --secret-file F or set NEXMIRROR_SECRET"
        case .cannotCreate(let file): "cannot create the secret file \(file)"
        case .noneForPostgreSQL:
            "no secret: on PostgreSQL pass --secret-file F or set NEXMIRROR_SECRET (or --insecure-no-signature for tests)"
        }
    }
}

/// A file named on the command line that cannot be read.
enum InputError: Error, CustomStringConvertible {
    case unreadable(String)

    var description: String {
        switch self {
        case .unreadable(let path): "cannot read \(path)"
        }
    }
}
