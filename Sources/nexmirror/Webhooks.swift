import ArgumentParser
import Foundation
import Logging
import NexMirrorStore
import NexMirrorSync

/// `webhooks` (the report, its default) and `webhooks setup`.
struct Webhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the account's Nexudus webhooks, check them, and set them up.",
        discussion: """
            Examples:
              nexmirror webhooks                                          # list them
              nexmirror webhooks --url https://mirror.example.com         # exit 3 when one is missing or disabled
              nexmirror webhooks setup --url https://mirror.example.com   # create and re-enable them
            """,
        subcommands: [WebhooksList.self, WebhooksSetup.self],
        defaultSubcommand: WebhooksList.self)
}

struct WebhooksList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the account's Nexudus webhooks; with --url, check one per projected action and location.",
        discussion: """
            Lists every webhook (business, action, URL, active, error count, last error, last \
            trigger) and records them for `status`. With --url BASE (the mirror's public base \
            URL) it also lists, per location, each projected action with no active webhook at \
            BASE/webhooks/<Action>, and exits 3 when any is missing or disabled. \
            `nexmirror webhooks setup` creates and re-enables them.

            Needs the WebHook-List role (and Business-List); credentials and the token file as \
            for `nexmirror sync` (on PostgreSQL pass --token-file).

            Example:
              nexmirror webhooks --url https://mirror.example.com
              nexmirror webhooks --db postgresql://nexmirror@/nexmirror --token-file /etc/nexmirror/nexmirror.nexudus
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var api: NexudusOptions

    @Option(help: ArgumentHelp("The mirror's public base URL, to check coverage.", valueName: "base"))
    var url: String?

    func validate() throws { _ = try api.tokenPath(for: database.location) }

    func run() async throws {
        let session = try await WebhookSession(database: database, api: api)
        let webhooks = try await session.listed()
        let rows = webhooks.sorted { ($0.businessId ?? 0, $0.actionId ?? 0, $0.id) < ($1.businessId ?? 0, $1.actionId ?? 0, $1.id) }
        print(["business", "action", "url", "active", "errors", "last_error", "last_trigger"].joined(separator: "\t"))
        for webhook in rows {
            print([
                webhook.businessId.map(String.init) ?? "", webhook.actionName ?? "", webhook.url, webhook.active ? "yes" : "no",
                webhook.errorCount.map(String.init) ?? "", webhook.lastError ?? "", webhook.lastTrigger?.description ?? "",
            ].joined(separator: "\t"))
        }
        guard let url else { return }
        let coverage = WebhookRegistry.coverage(base: url, businesses: try await session.businesses(), webhooks: webhooks)
        let gaps = coverage.filter { $0.state != .active }
        print("")
        if gaps.isEmpty {
            print("every projected action has an active webhook at \(url)/webhooks/<Action> for \(Set(coverage.map(\.business.id)).count) location(s)")
            return
        }
        for gap in gaps {
            print("\(gap.state.rawValue): \(gap.action.name) for business \(gap.business.id) (\(gap.business.name)) at \(gap.url)")
        }
        Terminal.printError("\(gaps.count) projected webhook(s) missing or disabled; `nexmirror webhooks setup --url \(url)` fixes them")
        throw ExitCode(3)
    }
}

struct WebhooksSetup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Create the missing webhooks and re-enable the disabled ones, per location.",
        discussion: """
            For each location (or each --business) and each projected action, makes sure an \
            active webhook posts to BASE/webhooks/<Action>: creates it when missing, re-enables \
            it when Nexudus disabled it. Webhooks pointing elsewhere are left alone. Running it \
            twice changes nothing. Needs the WebHook-List, WebHook-Create and WebHook-Edit roles.

            Example:
              nexmirror webhooks setup --url https://mirror.example.com --dry-run
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var api: NexudusOptions

    @Option(help: ArgumentHelp("The mirror's public base URL.", valueName: "base"))
    var url: String

    @Option(help: ArgumentHelp("Only this location (repeatable); default every location.", valueName: "id"))
    var business: [Int64] = []

    @Flag(help: "Show what would change; change nothing and write nothing (no database, no new token file).")
    var dryRun = false

    func validate() throws {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ValidationError("--url must be the mirror's public base URL, e.g. https://mirror.example.com")
        }
        _ = try api.tokenPath(for: database.location)
    }

    func run() async throws {
        let session = try await WebhookSession(database: database, api: api, recording: !dryRun)
        var businesses = try await session.businesses()
        if !business.isEmpty {
            let unknown = business.filter { id in !businesses.contains { $0.id == id } }
            if !unknown.isEmpty { throw NexudusCommandError.unknownLocations(unknown) }
            businesses = businesses.filter { business.contains($0.id) }
        }
        let coverage = WebhookRegistry.coverage(base: url, businesses: businesses, webhooks: try await session.listed(record: false))
        var created = 0, enabled = 0
        for gap in coverage where gap.state != .active {
            let verb = gap.state == .missing ? "create" : "re-enable"
            if dryRun {
                print("would \(verb) \(gap.action.name) for business \(gap.business.id) at \(gap.url)")
                continue
            }
            do {
                if gap.state == .missing { try await session.registry.create(gap); created += 1 }
                else { try await session.registry.enable(gap); enabled += 1 }
            } catch {
                throw NexudusCommandError.cannotChange(
                    verb: verb, action: gap.action.name, business: gap.business.id, reason: error.description)
            }
            print("\(verb == "create" ? "created" : "re-enabled") \(gap.action.name) for business \(gap.business.id) at \(gap.url)")
        }
        let active = coverage.filter { $0.state == .active }.count
        if dryRun {
            print("dry run: \(coverage.count - active) to change, \(active) already active")
        } else {
            _ = try await session.listed()
            print("\(created) created, \(enabled) re-enabled, \(active) already active")
        }
    }
}

/// What both webhooks commands share: the client, the registry and the database they record in.
struct WebhookSession {
    let registry: WebhookRegistry
    /// Nil when not `recording`: a dry run opens no database for writing, so none is created or migrated.
    let store: (any SyncLedger)?

    /// Without `recording` (`setup --dry-run`) nothing is written: no database, no schema, no new
    /// token file (an existing one still gets the rotated token, as with `sync --dry-run`).
    init(database: DatabaseOptions, api: NexudusOptions, recording: Bool = true) async throws {
        var logger = Logger(label: "nexmirror", factory: StandardErrorLogHandler.init)
        logger.logLevel = .warning
        let tokenPath = try api.tokenPath(for: database.location)
        // A foreign or damaged SQLite file is refused in one line before anything is written to it.
        if case .sqlite(let path) = database.location, FileManager.default.fileExists(atPath: path) {
            _ = try await database.openLogReader()
        }
        store = recording ? try await database.openSyncLedger(preparing: false) : nil
        registry = WebhookRegistry(client: try api.client(tokenPath: tokenPath, logger: logger, createsTokenFile: recording))
    }

    /// The account's webhooks, recorded in `nexudus_webhooks` unless `record` is false or the
    /// session does not record.
    func listed(record: Bool = true) async throws -> [NexudusWebhook] {
        let webhooks = try await registry.webhooks()
        if record, let store { try await store.replaceWebhooks(webhooks.map(\.record), seenAt: .now) }
        return webhooks
    }

    func businesses() async throws(SyncError) -> [NexudusBusiness] {
        try await registry.businesses()
    }
}
