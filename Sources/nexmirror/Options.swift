import ArgumentParser
import Foundation
import NexMirrorCore

/// `--db`, shared by every command that touches the database.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "SQLite database file (default: $NEXMIRROR_DB, else ./nexmirror.sqlite).", valueName: "path"))
    var db: String?

    var path: String {
        let chosen: String
        if let db {
            chosen = db
        } else if let fromEnvironment = ProcessInfo.processInfo.environment["NEXMIRROR_DB"], !fromEnvironment.isEmpty {
            chosen = fromEnvironment
        } else {
            chosen = "./nexmirror.sqlite"
        }
        Self.refusePostgreSQL(chosen)
        return chosen
    }

    /// A bad `--db` is a usage mistake; `NEXMIRROR_DB` is refused when the path is first used.
    func validate() throws {
        if let db, Self.isPostgreSQL(db) { throw ValidationError(Self.postgreSQLRefusal) }
    }

    private static let postgreSQLRefusal =
        "PostgreSQL is not supported yet; --db (or NEXMIRROR_DB) must be a SQLite file path"

    private static func isPostgreSQL(_ value: String) -> Bool {
        let lowered = value.lowercased()
        return lowered.hasPrefix("postgresql://") || lowered.hasPrefix("postgres://")
    }

    /// A PostgreSQL URL must never be taken for a SQLite file name (it would create `postgresql:/…`).
    static func refusePostgreSQL(_ value: String) {
        guard isPostgreSQL(value) else { return }
        Terminal.printError("Error: " + postgreSQLRefusal)
        Self.exit(withError: ExitCode.failure)
    }
}

/// `--secret-file`, and the lookup order shared by `serve`, `send`, `sign` and `verify`.
struct SecretOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "File holding the shared secret, one per line to accept several while rotating "
                + "(default: $NEXMIRROR_SECRET, else nexmirror.secret beside the database).",
            valueName: "file"))
    var secretFile: String?

    enum Source: CustomStringConvertible {
        case file(String), environment, defaultFile(String)
        var description: String {
            switch self {
            case .file(let path): "--secret-file \(path)"
            case .environment: "NEXMIRROR_SECRET"
            case .defaultFile(let path): path
            }
        }
    }

    static func defaultFile(besides databasePath: String) -> String {
        URL(fileURLWithPath: databasePath).deletingLastPathComponent().appendingPathComponent("nexmirror.secret").path
    }

    /// The secrets and where they came from; nil when none is configured anywhere.
    func load(databasePath: String) throws -> (secrets: [String], source: Source)? {
        if let secretFile {
            return (try Self.read(file: secretFile), .file(secretFile))
        }
        if let value = ProcessInfo.processInfo.environment["NEXMIRROR_SECRET"], !value.isEmpty {
            let secrets = Self.lines(value)
            guard !secrets.isEmpty else { throw SecretError.emptyEnvironment }
            return (secrets, .environment)
        }
        let fallback = Self.defaultFile(besides: databasePath)
        if FileManager.default.fileExists(atPath: fallback) {
            return (try Self.read(file: fallback), .defaultFile(fallback))
        }
        return nil
    }

    static func read(file: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw SecretError.unreadable(file: file)
        }
        let secrets = lines(String(decoding: data, as: UTF8.self))
        guard !secrets.isEmpty else { throw SecretError.emptyFile(file) }
        return secrets
    }

    private static func lines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    /// The first secret, for commands that sign.
    func signingSecret(databasePath: String) throws -> String {
        guard let first = try load(databasePath: databasePath)?.secrets.first else {
            throw SecretError.noneToSign(defaultFile: Self.defaultFile(besides: databasePath))
        }
        return first
    }
}

enum Terminal {
    static func isTerminal(_ descriptor: Int32) -> Bool { isatty(descriptor) == 1 }

    static func readAllStandardInput() -> [UInt8] {
        Array(FileHandle.standardInput.readDataToEndOfFile())
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError.unreadable(path)
        }
        return Array(data)
    }

    static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

extension Terminal {
    static func write(toStandardError text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

extension Terminal {
    static func write(toStandardOutput text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
