import Foundation
import PostgresNIO

/// Why a PostgreSQL store could not be opened: one line for the operator.
public enum PostgresOpenError: Error, CustomStringConvertible {
    /// No host of `url` answered as `target_session_attrs` wants, for `reason`.
    case cannotConnect(url: PostgresURL, reason: String)
    /// Connected, but the migrations could not be applied, for `reason`.
    case cannotMigrate(url: PostgresURL, reason: String)
    /// The database at `url` holds no event log; readers never create one.
    case notANexmirrorDatabase(url: PostgresURL)
    /// The session's search path finds no event log to fold the replica as of an instant from.
    case noEventLog
    /// A TEMP table of that name does not come before the live one in the search path.
    case temporaryTableHidden(String)

    public var description: String {
        switch self {
        case .cannotConnect(let url, let reason): "cannot connect to \(url): \(reason)"
        case .cannotMigrate(let url, let reason): "cannot open \(url): \(reason)"
        case .notANexmirrorDatabase(let url):
            "\(url) is not a nexmirror database (no event log in it); start `nexmirror serve` on it first"
        case .noEventLog: "no event log in this database; start `nexmirror serve` on it first"
        case .temporaryTableHidden(let table):
            "the TEMP table \(table) is not found before the live one (is pg_temp late in search_path?)"
        }
    }
}

/// A statement PostgreSQL refused, in one line: what was being read or recorded, and the server's
/// reason (postgres-nio's own description of its errors hides it).
public enum PostgresStatementError: Error, CustomStringConvertible {
    /// Could not `doing` (read this, record that…) for `reason`.
    case failed(doing: String, reason: String)
    /// The server answered the standby probe without saying whether it is in recovery.
    case recoveryStateUnknown

    public var description: String {
        switch self {
        case .failed(let doing, let reason): "cannot \(doing): \(reason)"
        case .recoveryStateUnknown: "the server did not say whether it is a standby"
        }
    }
}

extension PostgresStore {
    /// Why a first connection failed, in the words an operator searches for.
    static func connectReason(_ error: any Error, url: PostgresURL) -> String {
        if let error = error as? PostgresURL.TLSError { return error.description }
        if let error = error as? PSQLError, error.code == .sslUnsupported {
            return "the server does not accept TLS, which sslmode=\(url.sslMode.rawValue) requires "
                + "(turn ssl on in postgresql.conf, or use sslmode=prefer to fall back to plain TCP)"
        }
        // PSQLError prints only its code; the TLS failure is in its underlying error.
        let text = "\(error) \(reason(error))"
        if text.contains("failedToValidateHostname") {
            return "the server's certificate does not name the host connected to (sslmode=verify-full checks it; "
                + "connect by a name the certificate lists, or use sslmode=verify-ca)"
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed") {
            return "the server's certificate failed verification against \(url.rootCertificate) "
                + "(sslmode=\(url.sslMode.rawValue)): is sslrootcert the CA that signed it?"
        }
        if text.contains("Connection refused") { return "connection refused (is PostgreSQL running there?)" }
        if text.contains("No such file") { return "no PostgreSQL socket there (is it running, is host= the right directory?)" }
        return reason(error)
    }

    /// One readable line for a PostgreSQL error (PSQLError hides the server's message by default).
    static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)".replacingOccurrences(of: "PSQLError.Code(", with: "")
        }
        if let error = error as? PostgresTransactionError {
            return reason(error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? error)
        }
        return "\(error)"
    }
}
