import Foundation
import GRDB
import NexMirrorTestSupport
import NexudusStandIn
import Testing

/// A mirror database beside a running stand-in of the Nexudus API, and the CLI pointed at it.
final class SyncMirror {
    let scratch = Scratch()
    let account: NexudusAccount
    let api: StandInServer
    static let user = "ops@example.com"
    static let password = "pä55 word&more"

    var db: String { scratch.path("mirror.sqlite") }
    var tokenFile: String { scratch.path("nexmirror.nexudus") }

    /// Environment for the CLI: the stand-in's URL and, unless `password` is false, credentials.
    func environment(password: Bool = true) -> [String: String] {
        var env = ["NEXUDUS_API_URL": api.baseURL, "NEXMIRROR_DB": db]
        if password {
            env["NEXUDUS_USERNAME"] = Self.user
            env["NEXUDUS_PASSWORD"] = Self.password
        }
        return env
    }

    private init(account: NexudusAccount, api: StandInServer) {
        self.account = account
        self.api = api
    }

    static func start(maxPageSize: Int = 1000, seed: Bool = true) async throws -> SyncMirror {
        let account = NexudusAccount(maxPageSize: maxPageSize)
        account.addUser(user, password: password)
        if seed { Self.seed(account) }
        return SyncMirror(account: account, api: try await StandInServer.start(account))
    }

    static func seed(_ account: NexudusAccount) { account.seedSample() }

    static func putCoworker(_ account: NexudusAccount, id: Int64, updatedOn: String, email: String? = nil) {
        account.putSampleCoworker(id: id, updatedOn: updatedOn, email: email)
    }

    static func putBooking(_ account: NexudusAccount, id: Int64, updatedOn: String, resource: String = "Room A") {
        account.putSampleBooking(id: id, updatedOn: updatedOn, resource: resource)
    }

    @discardableResult
    func run(_ arguments: [String], password: Bool = true) async throws -> CommandResult {
        try await CLI.run(arguments, environment: environment(password: password))
    }

    /// `sync` at 10 requests/s, the cap, so tests stay short.
    @discardableResult
    func sync(_ extra: [String] = [], password: Bool = true) async throws -> CommandResult {
        try await run(["sync", "--requests-per-minute", "600"] + extra, password: password)
    }

    /// The CLI started in the background with this mirror's environment, its output discarded:
    /// for runs a test watches from the stand-in while they wait.
    func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment()) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: db, configuration: configuration).read(body)
    }

    func count(_ sql: String) throws -> Int { try read { try Int.fetchOne($0, sql: sql) ?? 0 } }

    func strings(_ sql: String) throws -> [String?] { try read { try String?.fetchAll($0, sql: sql) } }

    deinit {
        let api = self.api
        Task { await api.stop() }
    }
}
