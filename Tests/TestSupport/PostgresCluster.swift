import Foundation
import NexudusFixtures
import Testing

/// The PostgreSQL cluster the tests run against: `NEXMIRROR_PG_URL` (scripts/test starts one with
/// scripts/pg), else a throwaway cluster this process starts with scripts/pg and stops at exit.
/// Each test gets a database of its own on it.
package enum PostgresCluster {
    package struct Handle {
        package let url: String
        package let directory: String?
        package let ownedByUs: Bool
    }

    package static let handle: Handle? = {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["NEXMIRROR_PG_URL"], !url.isEmpty {
            return Handle(url: url, directory: environment["NEXMIRROR_PG_DIR"], ownedByUs: false)
        }
        let script = NexudusFixtures.packageRoot.appendingPathComponent("scripts/pg").path
        // Not Foundation's Process: it learns of a child's exit by EOF on a socket the child
        // inherits, and the postgres daemon keeps that open, so `waitUntilExit` would hang.
        guard let started = spawnAndWait([script, "start"]), started.status == 0 else { return nil }
        var exports: [String: String] = [:]
        for match in started.output.matches(of: /(NEXMIRROR_PG_\w+)='([^']*)'/) {
            exports[String(match.1)] = String(match.2)
        }
        guard let url = exports["NEXMIRROR_PG_URL"], let directory = exports["NEXMIRROR_PG_DIR"] else { return nil }
        stopAtExit = directory
        atexit {
            if let directory = PostgresCluster.stopAtExit {
                _ = PostgresCluster.spawnAndWait(
                    [NexudusFixtures.packageRoot.appendingPathComponent("scripts/pg").path, "stop", directory])
            }
        }
        return Handle(url: url, directory: directory, ownedByUs: true)
    }()

    nonisolated(unsafe) static var stopAtExit: String?

    package static var available: Bool { handle != nil }
    package static let unavailable: Comment =
        "PostgreSQL tests skipped: NEXMIRROR_PG_URL is unset and scripts/pg could not start a cluster"

    /// A new, empty database; its URL.
    package static func makeDatabase(options: String = "") throws -> String {
        let handle = try #require(handle)
        let name = "nx_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let created = try shell(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url(handle.url, database: "postgres"),
                                 "-c", "CREATE DATABASE \(name) \(options)"])
        try #require(created.status == 0, "CREATE DATABASE: \(created.stderr)")
        return url(handle.url, database: name)
    }

    /// The same URL naming another database.
    package static func url(_ url: String, database: String) -> String {
        var components = URLComponents(string: url)!
        components.path = "/" + database
        return components.string!
    }

    /// Runs psql on `url` and returns its unaligned output (`psql -At`).
    package static func psql(_ url: String, _ sql: String) throws -> String {
        let result = try shell(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        guard result.status == 0 else { throw PSQLFailed(message: result.stderr) }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    package struct PSQLFailed: Error {
        package let message: String
        package init(message: String) { self.message = message }
    }

    /// Runs `arguments` to completion with standard output in a file, with `environment` added to
    /// this process's; nil when it cannot start.
    package static func spawnAndWait(
        _ arguments: [String], environment: [String: String] = [:]
    ) -> (status: Int32, output: String, errors: String)? {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("pg-\(UUID().uuidString)").path
        let errorPath = outputPath + ".err"
        defer { unlink(outputPath); unlink(errorPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var inherited: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            inherited.append(String(cString: pointer))
            entry += 1
        }
        let envp = (inherited.filter { line in !environment.keys.contains { line.hasPrefix($0 + "=") } }
            + environment.map { "\($0.key)=\($0.value)" }).map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, arguments[0], &actions, nil, argv, envp) == 0 else { return nil }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        return ((status >> 8) & 0xff, output, errors)
    }

    @discardableResult
    package static func shell(_ arguments: [String]) throws -> CommandResult {
        // Synchronous on purpose (psql and sqlite3 answer at once); posix_spawn, not Foundation's Process.
        guard let result = spawnAndWait([executable(arguments[0]).path] + arguments.dropFirst()) else {
            throw CocoaError(.executableLoad)
        }
        return CommandResult(status: result.status, stdout: Data(result.output.utf8), stderr: result.errors)
    }

    private static func executable(_ name: String) -> URL {
        if name.hasPrefix("/") { return URL(fileURLWithPath: name) }
        for directory in ["/usr/bin", "/usr/lib/postgresql/15/bin", "/usr/local/bin"] {
            let path = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: path) { return URL(fileURLWithPath: path) }
        }
        return URL(fileURLWithPath: "/usr/bin/" + name)
    }
}

extension PostgresCluster {
    /// Runs the sqlite3 shell with psql's unaligned format, for side-by-side comparisons.
    package static func sqlite(_ path: String, _ sql: String) throws -> String {
        let result = try shell(["sqlite3", "-readonly", "-separator", "|", path, sql])
        guard result.status == 0 else { throw PSQLFailed(message: result.stderr) }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
