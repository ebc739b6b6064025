import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NexMirrorCore
import NexMirrorServer
import NexMirrorStore
import NexMirrorSync
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Receive Nexudus webhooks, log every verified delivery, keep the replica folded.",
        discussion: """
            Answers POST /webhooks/{action} (an action name, any case, or its numeric id) with 200 \
            {"seq": N, "duplicate": false} only once the delivery is durably committed; also \
            GET /healthz, /readyz and /metrics. Stops gracefully on SIGINT/SIGTERM.

            GET / is a dashboard (no JavaScript needed) and GET /api/status the same data as \
            `nexmirror status --format json`. --admin-port moves /, /api/status and /metrics to a \
            second listener (--admin-host, default loopback) when --port faces the internet. \
            --silence-after sets one silence threshold for all actions (see `status --help`).

            The secret comes from --secret-file, else $NEXMIRROR_SECRET, else nexmirror.secret \
            beside the database, which is created on first run. It is never read from the \
            command line.

            Behind a reverse proxy, name it with --trusted-proxy so that a rejected signature is \
            recorded with the client's address from X-Forwarded-For rather than the proxy's; \
            the header is ignored on connections from anywhere else, so clients cannot forge it.

            A coworker deleted in Nexudus (a CoworkerDelete webhook, or sync's 404) is erased \
            --erase-deleted-after later (default 30d), as by `nexmirror forget`: its personal data \
            leaves the log, the replica and the files; `never` keeps it until you forget it.

            Examples:
              nexmirror serve --host 0.0.0.0 --port 8080 --db /var/lib/nexmirror/replica.sqlite
              nexmirror serve --port 8080 --trusted-proxy 127.0.0.1 --trusted-proxy ::1
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var secret: SecretOptions

    @Option(help: "Address to listen on; 0.0.0.0 for every interface.")
    var host = "127.0.0.1"

    @Option(help: "TCP port to listen on (0 picks a free one).")
    var port = 8080

    @Option(help: "Largest body accepted; larger deliveries get 413.")
    var maxBodyBytes = 4 * 1024 * 1024

    @Option(help: "Seconds a commit may wait for a lock held elsewhere before answering 503.")
    var lockTimeout: Double = 5

    @Option(help: ArgumentHelp(
        "Seconds a request's head, and then its body, may take to arrive; a slower client is cut.",
        valueName: "seconds"))
    var readTimeout: Double = 30

    @Option(help: ArgumentHelp("Seconds a kept-alive connection may stay open without a request.", valueName: "seconds"))
    var idleTimeout: Double = 75

    @Option(
        name: .customLong("trusted-proxy"),
        help: ArgumentHelp(
            "Reverse proxy (address or CIDR block) whose X-Forwarded-For names the client recorded with a "
                + "rejected signature (repeatable; default: none, the connection's address is recorded).",
            valueName: "addr"))
    var trustedProxies: [String] = []

    @Option(help: "Address of the admin listener (dashboard, /api/status, /metrics); with --admin-port.")
    var adminHost = "127.0.0.1"

    @Option(help: "Serve /, /api/status and /metrics on this port only, not on --port (0 picks a free one).")
    var adminPort: Int?

    @Option(help: ArgumentHelp(
        "One silence threshold for every action (90m, 6h, 2d) instead of each action's learned one.",
        valueName: "duration"))
    var silenceAfter: String?

    @Flag(help: "Accept deliveries without checking their signature (testing only).")
    var insecureNoSignature = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: ArgumentHelp(
        "Also reconcile from the Nexudus REST API at start and then every DURATION (e.g. 6h, 30m); see `nexmirror sync --help`.",
        valueName: "duration"))
    var syncEvery: IntervalArgument?

    @OptionGroup(title: "Nexudus REST API (with --sync-every)") var api: NexudusOptions

    @Option(help: ArgumentHelp(
        "Erase a coworker's personal data this long after its delete was folded (90m, 12h, 30d), or `never`.",
        valueName: "duration"))
    var eraseDeletedAfter = ErasureDelay(argument: "30d")!

    @Option(help: ArgumentHelp(
        "Compact the log (see `nexmirror compact --help`) at start and then hourly, removing deliveries older than "
            + "DURATION (e.g. 400d) that no longer decide the replica (default: off).",
        valueName: "duration"))
    var compactAfter: IntervalArgument?

    func validate() throws {
        guard maxBodyBytes > 0 else { throw ValidationError("--max-body-bytes must be positive") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard lockTimeout > 0 else { throw ValidationError("--lock-timeout must be positive") }
        guard readTimeout > 0 else { throw ValidationError("--read-timeout must be positive") }
        guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be positive") }
        do {
            _ = try TrustedProxies(trustedProxies)
        } catch {
            throw ValidationError("--trusted-proxy \(error.description)")
        }
        if let adminPort, !(0...65535).contains(adminPort) { throw ValidationError("--admin-port must be 0…65535") }
        _ = try SilenceOption.rule(silenceAfter)
        if syncEvery != nil { _ = try api.tokenPath(for: database.location) }
    }

    func run() async throws {
        var logger = Logger(label: "nexmirror", factory: StandardErrorLogHandler.init)
        logger.logLevel = logLevel
        // Opened first: a foreign or damaged file is refused before anything, even the secret
        // file beside it, is created. On PostgreSQL several receivers may share the database;
        // appends and folds are coordinated there, not here.
        let (store, storeServices) = try await database.openServedStore(lockTimeout: .seconds(lockTimeout), logger: logger)
        let secrets = try loadSecrets(logger: logger)
        if case .postgreSQL(let text) = database.location {
            let url = try DatabaseOptions.postgresURL(text)
            logger.info("store opened", metadata: ["store": "\(url)"])
        }
        raiseOpenFileLimit()

        let rebuilt = try await store.registerProjectionsAndRebuildChanged(progress: nil)
        if !rebuilt.isEmpty {
            logger.notice("projections rebuilt for a new version", metadata: ["projections": "\(rebuilt)"])
        }

        let (app, addresses) = try receiver(store: store, secrets: secrets, logger: logger)
        try await run(app: app, store: store, storeServices: storeServices, addresses: addresses, logger: logger)
    }

    /// The secrets deliveries are checked with: none with --insecure-no-signature, else
    /// --secret-file or $NEXMIRROR_SECRET, else the file beside a SQLite database (created on
    /// first start). A PostgreSQL URL has no directory beside it, so there one must be given.
    private func loadSecrets(logger: Logger) throws -> [String] {
        if insecureNoSignature {
            logger.warning("signature checks are OFF (--insecure-no-signature): anyone can write to the log")
            return []
        }
        if let loaded = try secret.load(database: database) {
            logger.info("secret loaded", metadata: ["from": "\(loaded.source)", "count": "\(loaded.secrets.count)"])
            return loaded.secrets
        }
        guard case .sqlite(let path) = database.location else { throw SecretError.noneForPostgreSQL }
        return [try createDefaultSecret(besides: path)]
    }

    /// The receiver with its background services, on either backend: `--sync-every`'s sync and
    /// `--erase-deleted-after`'s erasure and `--compact-after`'s compaction. Ingest never waits
    /// on them; their writes go through the same log and locks as any batch. `storeServices`
    /// (the store's connections) come first, so the group, which stops in reverse order, stops
    /// them last.
    func run(
        app: some ApplicationProtocol, store: any SyncLedger & ErasingStore & StoreCompaction,
        storeServices: [any Service], addresses: [String], logger: Logger
    ) async throws {
        var services: [any Service] = storeServices + [app]
        if let syncEvery {
            let client = try api.client(tokenPath: try api.tokenPath(for: database.location), logger: logger)
            let reconciler = Reconciler(store: store, client: client, logger: logger)
            let sync = AutomaticSync(reconciler: reconciler, interval: syncEvery.duration, logger: logger)
            services.append(PeriodicService(every: sync.interval) { await sync.runOnce() })
        }
        if let delay = eraseDeletedAfter.duration {
            let erasure = AutomaticErasure(store: store, delay: delay, logger: logger)
            services.append(PeriodicService(every: erasure.interval) { await erasure.runOnce() })
        }
        if let compactAfter {
            let compaction = AutomaticCompaction(store: store, keep: compactAfter.duration, logger: logger)
            services.append(PeriodicService(every: compaction.interval) { await compaction.runOnce() })
        }
        do {
            try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        } catch {
            throw ListenError.explain(error, addresses: addresses)
        }
    }

    /// The receiver on `store`, the same on every backend, with the addresses it listens on (for
    /// a one-line error when one is taken). It prints the port line scripts and tests wait for.
    func receiver(
        store: any EventStore, secrets: [String], logger: Logger
    ) throws -> (app: some ApplicationProtocol, addresses: [String]) {
        let limits = ConnectionLimits(
            readTimeout: .nanoseconds(Int64(readTimeout * 1e9)), idleTimeout: .nanoseconds(Int64(idleTimeout * 1e9)))
        var configuration = ReceiverConfiguration(
            host: host, port: port, maxBodyBytes: maxBodyBytes, secrets: secrets, limits: limits,
            trustedProxies: try TrustedProxies(trustedProxies))
        configuration.adminHost = adminHost
        configuration.adminPort = adminPort
        configuration.silence = try SilenceOption.rule(silenceAfter)
        let adminHost = self.adminHost
        let host = self.host
        let app = buildApplication(configuration: configuration, store: store, logger: logger) { port in
            let shown = host == "0.0.0.0" ? "<this-host>" : host
            // Written unbuffered: scripts and tests wait for this line to learn the port.
            Terminal.write(toStandardOutput: """
                nexmirror listening on http://\(host):\(port)
                Nexudus webhook URL: http://\(shown):\(port)/webhooks/<Action>  (e.g. /webhooks/CoworkerCreate)

                """)
        } onAdminRunning: { port in
            Terminal.write(toStandardOutput: "nexmirror admin on http://\(adminHost):\(port) (dashboard /, /api/status, /metrics)\n")
        }
        var addresses = ["\(host):\(port)"]
        if let adminPort { addresses.append("\(adminHost):\(adminPort)") }
        return (app, addresses)
    }

    /// Every kept-alive connection holds a descriptor, and service managers start processes with
    /// a soft limit (1024 under systemd) far below the hard one.
    func raiseOpenFileLimit() {
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resource, &limit)
    }

    private func createDefaultSecret(besides database: String) throws -> String {
        let path = SecretOptions.defaultFile(besides: database)
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        let secret = String((0..<40).map { _ in alphabet[Int.random(in: alphabet.indices, using: &generator)] })
        let created = FileManager.default.createFile(
            atPath: path, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600])
        guard created else { throw SecretError.cannotCreate(path) }
        Terminal.write(toStandardOutput: """
            Created a new webhook secret in \(path) (mode 0600).
            Paste it into Nexudus: Settings › Integrations › Webhooks › Secret, then give each webhook
            the URL printed below. Show it with: cat \(path)

            """)
        return secret
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `--erase-deleted-after`: a duration, or `never`.
struct ErasureDelay: ExpressibleByArgument {
    let duration: Duration?
    let defaultValueDescription: String

    init?(argument: String) {
        defaultValueDescription = argument
        if argument == "never" {
            duration = nil
        } else if let interval = IntervalArgument(argument: argument) {
            duration = interval.duration
        } else {
            return nil
        }
    }
}
