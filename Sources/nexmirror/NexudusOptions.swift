import ArgumentParser
import Foundation
import Logging
import NexMirrorCore
import NexMirrorStore
import NexMirrorSync

/// How to reach the Nexudus REST API, shared by `sync`, `webhooks` and `serve --sync-every`.
/// Credentials are read from the environment or a file, never from the command line.
struct NexudusOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Nexudus API base (default: $NEXUDUS_API_URL, else https://spaces.nexudus.com/api).", valueName: "url"))
    var apiUrl: String?

    @Option(help: ArgumentHelp(
        "File with the Nexudus user on line 1 and password on line 2 (default: $NEXUDUS_USERNAME and $NEXUDUS_PASSWORD).",
        valueName: "file"))
    var credentialsFile: String?

    @Option(help: ArgumentHelp(
        "Where the mirror's client id and refresh token are kept, mode 0600 (default: nexmirror.nexudus beside a SQLite database; required on PostgreSQL).",
        valueName: "file"))
    var tokenFile: String?

    @Option(help: "API requests per minute; 10 per second stays the cap whatever this says.")
    var requestsPerMinute = 120

    @Option(help: ArgumentHelp(
        "API requests in any hour, for a user whose quota other tools share; Nexudus' 5000 stays the cap.",
        valueName: "n"))
    var requestsPerHour = RequestPacer.hourlyLimit

    func validate() throws {
        guard requestsPerMinute > 0 else { throw ValidationError("--requests-per-minute must be positive") }
        guard requestsPerHour > 0 else { throw ValidationError("--requests-per-hour must be positive") }
    }

    var baseURL: String {
        if let apiUrl { return apiUrl }
        if let fromEnvironment = ProcessInfo.processInfo.environment["NEXUDUS_API_URL"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return "https://spaces.nexudus.com/api"
    }

    /// Where the token file is (SPEC §7): `--token-file`, else `nexmirror.nexudus` beside a SQLite
    /// database. A PostgreSQL database has no directory beside it, and must not hold the token
    /// (`query` could read it), so there `--token-file` is required.
    func tokenPath(for location: StoreLocation) throws -> String {
        if let tokenFile { return tokenFile }
        switch location {
        case .sqlite(let path):
            return URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("nexmirror.nexudus").path
        case .postgreSQL:
            throw ValidationError(
                "on PostgreSQL pass --token-file F (where the Nexudus refresh token is kept, mode 0600); it is never kept in the database")
        }
    }

    /// `createsTokenFile` false for a dry run, which keeps an existing token file current but
    /// creates none.
    func client(tokenPath: String, logger: Logger, createsTokenFile: Bool = true) throws(SyncError) -> NexudusClient {
        let credentials = try NexudusCredentials.load(
            file: credentialsFile, environment: ProcessInfo.processInfo.environment)
        return NexudusClient(
            baseURL: baseURL, credentials: credentials, tokenFile: TokenFile(path: tokenPath),
            pacer: RequestPacer(requestsPerMinute: requestsPerMinute, requestsPerHour: requestsPerHour), logger: logger,
            createsTokenFile: createsTokenFile)
    }
}

/// A duration flag's value, in `HumanDuration`'s syntax (`90s`, `15m`, `1h30m`, `1d`).
struct IntervalArgument: ExpressibleByArgument {
    let duration: Duration
    /// As written (`10m`), for `--help`'s default.
    let defaultValueDescription: String

    init?(argument: String) {
        guard let duration = HumanDuration.parse(argument) else { return nil }
        self.duration = duration
        defaultValueDescription = argument
    }
}
