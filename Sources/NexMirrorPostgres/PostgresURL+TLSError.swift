extension PostgresURL {
    /// Why TLS could not be set up or did not hold, as one line naming what to change.
    public enum TLSError: Error, CustomStringConvertible {
        case unreadableRootCertificate(path: String, reason: String)
        case missingRootCertificate(path: String, sslMode: String)
        case setUp(reason: String)

        public var description: String {
            switch self {
            case .unreadableRootCertificate(let path, let reason):
                "cannot read root certificate file \(path) (sslrootcert): \(reason)"
            case .missingRootCertificate(let path, let sslMode):
                """
                root certificate file \(path) does not exist (sslmode=\(sslMode) checks the \
                server's certificate against it): give it with sslrootcert=FILE, or use sslmode=require to encrypt \
                without checking
                """
            case .setUp(let reason): "cannot set up TLS: \(reason)"
            }
        }
    }
}
