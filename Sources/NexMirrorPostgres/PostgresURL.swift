import Foundation
import NIOSSL
import PostgresNIO

/// A `postgresql://` or `postgres://` URL as libpq reads it (SPEC §6):
/// `postgresql://[USER[:PASSWORD]@][HOST][:PORT]/DBNAME[?host=SOCKET_DIR&sslmode=…&sslrootcert=FILE]`.
/// A `host` that is a directory (in the authority or the query) means a unix socket there.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public enum Endpoint: Sendable, Equatable {
        case socket(path: String)
        case tcp(host: String, port: Int)
    }

    /// libpq's `sslmode`, with libpq's meaning. Over a unix socket TLS is never used, whatever
    /// the mode (libpq does the same: the socket is as private as the machine).
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP only.
        case disable
        /// libpq tries plain first and TLS if the server insists; postgres-nio cannot, so this
        /// is `prefer` (TLS when the server offers it, plain otherwise).
        case allow
        /// TLS when the server offers it, plain otherwise; libpq's default.
        case prefer
        /// TLS or no connection; the certificate is not checked unless a root certificate file
        /// exists (then as `verify-ca`, as libpq does for compatibility).
        case require
        /// TLS, and the server's certificate must chain to the root certificate file.
        case verifyCA = "verify-ca"
        /// As `verify-ca`, and the certificate must also name the host connected to.
        case verifyFull = "verify-full"
    }

    public let endpoint: Endpoint
    public let username: String
    public let password: String?
    public let database: String
    public let sslMode: SSLMode
    /// `sslrootcert` (else `PGSSLROOTCERT`, else `~/.postgresql/root.crt` as libpq); `system`
    /// means the system's trusted roots.
    public let rootCertificate: String
    /// Shown in `pg_stat_activity`, so a DBA (or a rebuild waiting for a lock) can tell which
    /// command holds a connection: the URL's `application_name`, else `PGAPPNAME`, else the
    /// caller's fallback (`nexmirror serve`, `nexmirror check`…), as libpq's
    /// `fallback_application_name`.
    public let applicationName: String

    /// True for the values of `--db` that select PostgreSQL; anything else is a SQLite path.
    public static func isPostgres(_ value: String) -> Bool {
        let lowered = value.lowercased()
        return lowered.hasPrefix("postgresql://") || lowered.hasPrefix("postgres://")
    }

    public enum ParseError: Error, CustomStringConvertible {
        case malformed(String)
        case unsupported(String)
        public var description: String {
            switch self {
            case .malformed(let why): "invalid PostgreSQL URL: \(why); expected postgresql://[USER@][HOST][:PORT]/DBNAME[?host=SOCKET_DIR]"
            case .unsupported(let what): "PostgreSQL URL: \(what)"
            }
        }
    }

    /// Why TLS could not be set up or did not hold, as one line naming what to change.
    public struct TLSError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses `url`; the password comes from the URL, else `PGPASSWORD`. Defaults as libpq's:
    /// user from `PGUSER`, else the login name; socket directory `/var/run/postgresql`; port 5432.
    public init(
        _ url: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        fallbackApplicationName: String = "nexmirror"
    ) throws {
        guard Self.isPostgres(url), let components = URLComponents(string: url) else {
            throw ParseError.malformed("cannot parse it")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let known: Set = [
            "host", "port", "user", "password", "dbname", "sslmode", "sslrootcert", "application_name", "connect_timeout",
        ]
        if let unknown = query.keys.first(where: { !known.contains($0) }) {
            throw ParseError.malformed("unknown parameter '\(unknown)'")
        }
        let root = query["sslrootcert"] ?? environment["PGSSLROOTCERT"]
        rootCertificate = root ?? Self.homeDirectory() + "/.postgresql/root.crt"
        // libpq 16: the system's roots only make sense with the host name checked too.
        let modeText = query["sslmode"] ?? environment["PGSSLMODE"] ?? (root == "system" ? "verify-full" : "prefer")
        guard let mode = SSLMode(rawValue: modeText) else {
            throw ParseError.malformed(
                "unknown sslmode '\(modeText)' (one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if root == "system", mode != .verifyFull {
            throw ParseError.unsupported("sslrootcert=system needs sslmode=verify-full (not \(modeText)), as in libpq")
        }
        sslMode = mode
        applicationName = query["application_name"] ?? environment["PGAPPNAME"] ?? fallbackApplicationName
        let portText = query["port"] ?? components.port.map(String.init) ?? "5432"
        guard let port = Int(portText), (1...65535).contains(port) else { throw ParseError.malformed("bad port '\(portText)'") }
        let host = query["host"] ?? components.percentEncodedHost.flatMap { $0.removingPercentEncoding }.flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["PGHOST"] ?? "/var/run/postgresql"
        endpoint = host.hasPrefix("/") ? .socket(path: "\(host)/.s.PGSQL.\(port)") : .tcp(host: host, port: port)
        username = query["user"] ?? components.user.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGUSER"]
            ?? Self.loginName()
        password = components.password ?? query["password"] ?? environment["PGPASSWORD"]
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = query["dbname"] ?? (path.isEmpty ? username : path)
    }

    private static func homeDirectory() -> String {
        if let entry = getpwuid(getuid()), let home = entry.pointee.pw_dir { return String(cString: home) }
        return ProcessInfo.processInfo.environment["HOME"] ?? "/"
    }

    private static func loginName() -> String {
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "postgres"
    }

    /// What TLS to ask for: nil for none (a unix socket, or `sslmode=disable`). Throws when a
    /// certificate check was asked for and the root certificate file is missing or unreadable.
    func tlsConfiguration() throws -> (configuration: TLSConfiguration, required: Bool)? {
        guard case .tcp = endpoint, sslMode != .disable else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        let checks = sslMode == .verifyCA || sslMode == .verifyFull
        if rootCertificate == "system" {
            configuration.trustRoots = .default
        } else if FileManager.default.fileExists(atPath: rootCertificate) {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificate))
            } catch {
                throw TLSError(description: "cannot read root certificate file \(rootCertificate) (sslrootcert): \(error)")
            }
        } else if checks {
            throw TLSError(description: """
                root certificate file \(rootCertificate) does not exist (sslmode=\(sslMode.rawValue) checks the \
                server's certificate against it): give it with sslrootcert=FILE, or use sslmode=require to encrypt \
                without checking
                """)
        } else {
            // prefer/require without a root certificate file: encrypted, but anyone may answer.
            configuration.certificateVerification = .none
        }
        if configuration.certificateVerification != .none {
            configuration.certificateVerification = sslMode == .verifyFull ? .fullVerification : .noHostnameVerification
        }
        return (configuration, sslMode == .require || checks)
    }

    func clientConfiguration() throws -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        switch endpoint {
        case .socket(let path):
            configuration = PostgresClient.Configuration(
                unixSocketPath: path, username: username, password: password, database: database)
        case .tcp(let host, let port):
            let tls: PostgresClient.Configuration.TLS = try tlsConfiguration().map {
                $0.required ? .require($0.configuration) : .prefer($0.configuration)
            } ?? .disable
            configuration = PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: tls)
        }
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        return configuration
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        switch endpoint {
        case .socket(let path):
            configuration = PostgresConnection.Configuration(
                unixSocketPath: path, username: username, password: password, database: database)
        case .tcp(let host, let port):
            var tls = PostgresConnection.Configuration.TLS.disable
            if let (settings, required) = try tlsConfiguration() {
                let context: NIOSSLContext
                do {
                    context = try NIOSSLContext(configuration: settings)
                } catch {
                    throw TLSError(description: "cannot set up TLS: \(error)")
                }
                tls = required ? .require(context) : .prefer(context)
            }
            configuration = PostgresConnection.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: tls)
        }
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        return configuration
    }

    /// Where the database is, never the password: safe for logs and errors.
    public var description: String {
        switch endpoint {
        case .socket(let path): "PostgreSQL database \(database) as \(username) on \(path)"
        case .tcp(let host, let port):
            "PostgreSQL database \(database) as \(username) on \(host):\(port)"
                + (sslMode == .disable ? "" : " (sslmode=\(sslMode.rawValue))")
        }
    }
}
