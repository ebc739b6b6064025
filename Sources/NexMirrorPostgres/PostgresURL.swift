import Foundation
import PostgresNIO

/// A `postgresql://` or `postgres://` URL as libpq reads it (SPEC §6):
/// `postgresql://[USER[:PASSWORD]@][HOST][:PORT]/DBNAME[?host=SOCKET_DIR&sslmode=…]`.
/// A `host` that is a directory (in the authority or the query) means a unix socket there.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public enum Endpoint: Sendable, Equatable {
        case socket(path: String)
        case tcp(host: String, port: Int)
    }

    public let endpoint: Endpoint
    public let username: String
    public let password: String?
    public let database: String

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
    public init(_ url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard Self.isPostgres(url), let components = URLComponents(string: url) else {
            throw ParseError.malformed("cannot parse it")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let known: Set = ["host", "port", "user", "password", "dbname", "sslmode", "application_name", "connect_timeout"]
        if let unknown = query.keys.first(where: { !known.contains($0) }) {
            throw ParseError.malformed("unknown parameter '\(unknown)'")
        }
        switch query["sslmode"] ?? "disable" {
        case "disable", "allow", "prefer": break
        default: throw ParseError.unsupported("sslmode=\(query["sslmode"]!) is not supported yet; use a unix socket or sslmode=disable on a private network")
        }
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

    private static func loginName() -> String {
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "postgres"
    }

    var clientConfiguration: PostgresClient.Configuration {
        switch endpoint {
        case .socket(let path):
            PostgresClient.Configuration(unixSocketPath: path, username: username, password: password, database: database)
        case .tcp(let host, let port):
            PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: .disable)
        }
    }

    var connectionConfiguration: PostgresConnection.Configuration {
        switch endpoint {
        case .socket(let path):
            PostgresConnection.Configuration(unixSocketPath: path, username: username, password: password, database: database)
        case .tcp(let host, let port):
            PostgresConnection.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: .disable)
        }
    }

    /// Where the database is, never the password: safe for logs and errors.
    public var description: String {
        switch endpoint {
        case .socket(let path): "PostgreSQL database \(database) as \(username) on \(path)"
        case .tcp(let host, let port): "PostgreSQL database \(database) as \(username) on \(host):\(port)"
        }
    }
}
