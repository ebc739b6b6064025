import Foundation
import GRDB
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

    /// Two locations, a tariff, a resource, three coworkers, two bookings, a team.
    static func seed(_ account: NexudusAccount) {
        account.put("sys/businesses", id: 1, updatedOn: "2025-01-01T00:00:00Z", fields: [("Name", "Zürich")])
        account.put("sys/businesses", id: 2, updatedOn: "2025-01-01T00:00:00Z", fields: [("Name", "Basel")])
        account.put("billing/tariffs", id: 50, updatedOn: "2025-02-01T00:00:00Z", fields: [("Name", "Hot desk"), ("Price", Literal("150.00"))])
        account.put("spaces/resources", id: 70, updatedOn: "2025-02-01T00:00:00Z", fields: [("Name", "Room A"), ("BusinessId", 1)])
        for id in Int64(101)...103 { putCoworker(account, id: id, updatedOn: "2025-03-0\(id - 100)T10:00:00Z") }
        putBooking(account, id: 201, updatedOn: "2025-04-01T08:00:00.1234567Z")
        putBooking(account, id: 202, updatedOn: "2025-04-02T08:00:00Z")
        account.put("spaces/teams", id: 301, updatedOn: "2025-05-01T00:00:00Z", fields: [
            ("Name", "Team A"), ("BusinessId", 1), ("TeamMembers", [Int64(101), 102]), ("PayingMemberId", 101),
        ])
    }

    static func putCoworker(_ account: NexudusAccount, id: Int64, updatedOn: String, email: String? = nil) {
        account.put("spaces/coworkers", id: id, updatedOn: updatedOn, fields: [
            ("CoworkerType", 1), ("FullName", "Member \(id)"), ("Email", email ?? "member\(id)@example.com"),
            ("CompanyName", nil), ("InvoicingBusinessId", 1), ("Active", true), ("Archived", false),
            ("TariffId", 50), ("TariffName", "Hot desk"),
        ])
    }

    static func putBooking(_ account: NexudusAccount, id: Int64, updatedOn: String, resource: String = "Room A") {
        account.put("spaces/bookings", id: id, updatedOn: updatedOn, fields: [
            ("ResourceId", 70), ("ResourceName", resource), ("CoworkerId", 101),
            ("FromTime", "2025-06-01T09:00:00Z"), ("ToTime", "2025-06-01T10:00:00Z"),
            ("Tentative", false), ("Online", false), ("Invoiced", false),
        ])
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
