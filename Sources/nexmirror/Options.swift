import ArgumentParser
import Foundation
import NexMirrorCore
import NexMirrorStore

/// `--db`, shared by every command that touches the database.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "SQLite database file, or PostgreSQL URL postgresql://… (default: $NEXMIRROR_DB, else ./nexmirror.sqlite).",
            valueName: "path"))
    var db: String?

    /// `--db`, else `NEXMIRROR_DB`, else `./nexmirror.sqlite`, as given: a SQLite file path or a
    /// PostgreSQL URL, which `location` tells apart.
    var path: String {
        if let db { return db }
        if let fromEnvironment = ProcessInfo.processInfo.environment["NEXMIRROR_DB"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return "./nexmirror.sqlite"
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

    /// The default secret file for `--db`: beside a SQLite file; none for a PostgreSQL URL, which
    /// has no directory beside it (the secret comes from `--secret-file` or the environment there).
    static func defaultFile(for database: DatabaseOptions) -> String? {
        guard case .sqlite(let path) = database.location else { return nil }
        return defaultFile(besides: path)
    }

    /// The secrets and where they came from; nil when none is configured anywhere.
    /// `database` is read only for the default file, so `--secret-file` and the environment
    /// work whatever `--db` names.
    func load(database: DatabaseOptions) throws -> (secrets: [String], source: Source)? {
        if let secretFile {
            return (try Self.read(file: secretFile), .file(secretFile))
        }
        if let value = ProcessInfo.processInfo.environment["NEXMIRROR_SECRET"], !value.isEmpty {
            let secrets = Self.lines(value)
            guard !secrets.isEmpty else { throw SecretError.emptyEnvironment }
            return (secrets, .environment)
        }
        if let fallback = Self.defaultFile(for: database), FileManager.default.fileExists(atPath: fallback) {
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
    func signingSecret(database: DatabaseOptions) throws -> String {
        guard let first = try load(database: database)?.secrets.first else {
            throw SecretError.noneToSign(defaultFile: Self.defaultFile(for: database))
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
