import Foundation
import NIOSSL
import PostgresNIO

/// A `postgresql://` or `postgres://` URL as libpq reads it (SPEC §6):
/// `postgresql://[USER[:PASSWORD]@][HOST][:PORT][,HOST[:PORT]…]/DBNAME[?host=…&port=…&sslmode=…]`.
/// A `host` that is a directory (in the authority or the query) means a unix socket there. With
/// several hosts they are tried in order, and `target_session_attrs` says which server to keep.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public enum Endpoint: Sendable, Equatable, CustomStringConvertible {
        case socket(path: String)
        case tcp(host: String, port: Int)

        public var description: String {
            switch self {
            case .socket(let path): path
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            }
        }
    }

    /// libpq's `target_session_attrs`: which of the hosts tried in order a connection is kept to.
    public enum TargetSessionAttributes: String, Sendable, CaseIterable {
        /// The first that accepts a connection (libpq's default).
        case any
        /// One whose sessions accept writes (`transaction_read_only` off).
        case readWrite = "read-write"
        /// One that is not in recovery: a primary.
        case primary
        /// One whose sessions are read-only.
        case readOnly = "read-only"
        /// One in recovery: a standby.
        case standby
        /// A standby if one answers, else any.
        case preferStandby = "prefer-standby"
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

    /// The hosts, in the order they are tried.
    public let endpoints: [Endpoint]
    public let targetSessionAttributes: TargetSessionAttributes
    /// `connect_timeout`: how long each host may take to accept a connection (libpq: at least 2 s).
    public let connectTimeout: Duration
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

    /// Parses `url`; the password comes from the URL, else `PGPASSWORD`. Defaults as libpq's:
    /// user from `PGUSER`, else the login name; socket directory `/var/run/postgresql`; port 5432.
    public init(
        _ url: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        fallbackApplicationName: String = "nexmirror"
    ) throws {
        guard Self.isPostgres(url) else { throw ParseError.malformed("cannot parse it") }
        // URLComponents takes one host: the host list is read here and a single placeholder
        // host is left for it to parse the rest.
        let (authorityHosts, rest) = try Self.splitHosts(url)
        guard let components = URLComponents(string: rest) else { throw ParseError.malformed("cannot parse it") }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let known: Set = [
            "host", "port", "user", "password", "dbname", "sslmode", "sslrootcert", "application_name", "connect_timeout",
            "target_session_attrs",
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
        let attributesText = query["target_session_attrs"] ?? environment["PGTARGETSESSIONATTRS"] ?? "any"
        guard let attributes = TargetSessionAttributes(rawValue: attributesText) else {
            throw ParseError.malformed("unknown target_session_attrs '\(attributesText)' (one of "
                + "\(TargetSessionAttributes.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        targetSessionAttributes = attributes
        let timeoutText = query["connect_timeout"] ?? environment["PGCONNECT_TIMEOUT"] ?? "10"
        guard let timeout = Int(timeoutText), timeout >= 0 else {
            throw ParseError.malformed("bad connect_timeout '\(timeoutText)' (whole seconds)")
        }
        // libpq: 0 waits for ever, and less than 2 s is taken as 2.
        connectTimeout = .seconds(timeout == 0 ? 3600 : max(timeout, 2))
        applicationName = query["application_name"] ?? environment["PGAPPNAME"] ?? fallbackApplicationName
        endpoints = try Self.endpoints(
            hosts: query["host"].map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
                ?? authorityHosts.map(\.host),
            authorityPorts: authorityHosts.map(\.port), portParameter: query["port"], environment: environment)
        username = query["user"] ?? components.user.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGUSER"]
            ?? Self.loginName()
        password = components.password ?? query["password"] ?? environment["PGPASSWORD"]
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = query["dbname"] ?? (path.isEmpty ? username : path)
    }

    /// The authority's `HOST[:PORT],…` list (percent-decoded, brackets around IPv6 removed), and
    /// the URL with a placeholder host in its place.
    private static func splitHosts(_ url: String) throws -> (hosts: [(host: String, port: String?)], rest: String) {
        guard let schemeEnd = url.range(of: "://") else { throw ParseError.malformed("cannot parse it") }
        let afterScheme = url[schemeEnd.upperBound...]
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" }
        let remainder = afterScheme[authority.endIndex...]
        var userInfo = "", hostList = Substring(authority)
        if let at = authority.lastIndex(of: "@") {
            userInfo = String(authority[...at])
            hostList = authority[authority.index(after: at)...]
        }
        var hosts: [(host: String, port: String?)] = []
        if !hostList.isEmpty {
            for entry in hostList.split(separator: ",", omittingEmptySubsequences: false) {
                var host = Substring(entry), port: String?
                if entry.hasPrefix("[") {
                    guard let close = entry.firstIndex(of: "]") else { throw ParseError.malformed("unclosed [ in '\(entry)'") }
                    host = entry[entry.index(after: entry.startIndex)..<close]
                    let after = entry[entry.index(after: close)...]
                    if after.hasPrefix(":") { port = String(after.dropFirst()) }
                } else if let colon = entry.lastIndex(of: ":") {
                    host = entry[..<colon]
                    port = String(entry[entry.index(after: colon)...])
                }
                hosts.append((host.removingPercentEncoding ?? String(host), port))
            }
        }
        return (hosts, url[..<schemeEnd.upperBound] + userInfo + "placeholder" + remainder)
    }

    /// libpq's pairing of hosts and ports: one port for every host, or one per host.
    private static func endpoints(
        hosts: [String], authorityPorts: [String?], portParameter: String?, environment: [String: String]
    ) throws -> [Endpoint] {
        let listed = hosts.contains { !$0.isEmpty } ? hosts : []
        let hosts = listed.isEmpty
            ? (environment["PGHOST"] ?? "/var/run/postgresql").split(separator: ",").map(String.init) : listed
        let ports: [String?]
        if let portParameter {
            ports = portParameter.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        } else if authorityPorts.contains(where: { $0 != nil }) {
            ports = authorityPorts
        } else {
            ports = [environment["PGPORT"]]
        }
        guard ports.count == 1 || ports.count == hosts.count else {
            throw ParseError.malformed("\(hosts.count) hosts but \(ports.count) ports (give one port, or one per host)")
        }
        return try hosts.enumerated().map { index, host in
            let portText = (ports.count == 1 ? ports[0] : ports[index]).flatMap { $0.isEmpty ? nil : $0 } ?? "5432"
            guard let port = Int(portText), (1...65535).contains(port) else { throw ParseError.malformed("bad port '\(portText)'") }
            let host = host.isEmpty ? "/var/run/postgresql" : host
            return host.hasPrefix("/") ? .socket(path: "\(host)/.s.PGSQL.\(port)") : .tcp(host: host, port: port)
        }
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
    func tlsConfiguration(_ endpoint: Endpoint) throws -> (configuration: TLSConfiguration, required: Bool)? {
        guard case .tcp = endpoint, sslMode != .disable else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        let checks = sslMode == .verifyCA || sslMode == .verifyFull
        if rootCertificate == "system" {
            configuration.trustRoots = .default
        } else if FileManager.default.fileExists(atPath: rootCertificate) {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificate))
            } catch {
                throw TLSError.unreadableRootCertificate(path: rootCertificate, reason: "\(error)")
            }
        } else if checks {
            throw TLSError.missingRootCertificate(path: rootCertificate, sslMode: sslMode.rawValue)
        } else {
            // prefer/require without a root certificate file: encrypted, but anyone may answer.
            configuration.certificateVerification = .none
        }
        if configuration.certificateVerification != .none {
            configuration.certificateVerification = sslMode == .verifyFull ? .fullVerification : .noHostnameVerification
        }
        return (configuration, sslMode == .require || checks)
    }

    func clientConfiguration(_ endpoint: Endpoint) throws -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        switch endpoint {
        case .socket(let path):
            configuration = PostgresClient.Configuration(
                unixSocketPath: path, username: username, password: password, database: database)
        case .tcp(let host, let port):
            let tls: PostgresClient.Configuration.TLS = try tlsConfiguration(endpoint).map {
                $0.required ? .require($0.configuration) : .prefer($0.configuration)
            } ?? .disable
            configuration = PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: tls)
        }
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }

    func connectionConfiguration(_ endpoint: Endpoint) throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        switch endpoint {
        case .socket(let path):
            configuration = PostgresConnection.Configuration(
                unixSocketPath: path, username: username, password: password, database: database)
        case .tcp(let host, let port):
            var tls = PostgresConnection.Configuration.TLS.disable
            if let (settings, required) = try tlsConfiguration(endpoint) {
                let context: NIOSSLContext
                do {
                    context = try NIOSSLContext(configuration: settings)
                } catch {
                    throw TLSError.setUp(reason: "\(error)")
                }
                tls = required ? .require(context) : .prefer(context)
            }
            configuration = PostgresConnection.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: tls)
        }
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        configuration.options.connectTimeout = .nanoseconds(Int64(connectTimeout.components.seconds) * 1_000_000_000)
        return configuration
    }

    /// Where the database is, never the password: safe for logs and errors.
    public var description: String {
        let tcp = endpoints.contains { if case .tcp = $0 { true } else { false } }
        return "PostgreSQL database \(database) as \(username) on \(endpoints.map(\.description).joined(separator: ","))"
            + (tcp && sslMode != .disable ? " (sslmode=\(sslMode.rawValue))" : "")
            + (targetSessionAttributes == .any ? "" : " (target_session_attrs=\(targetSessionAttributes.rawValue))")
    }
}
