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
            Answers POST /webhooks/{action} (an action name, any case, or its numeric id) with 200
            {"seq": N, "duplicate": false} only once the delivery is durably committed; also
            GET /healthz, /readyz and /metrics. Stops gracefully on SIGINT/SIGTERM.

            The secret comes from --secret-file, else $NEXMIRROR_SECRET, else nexmirror.secret
            beside the database, which is created on first run. It is never read from the
            command line.

            Example:
              nexmirror serve --host 0.0.0.0 --port 8080 --db /var/lib/nexmirror/replica.sqlite
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

    @Flag(help: "Accept deliveries without checking their signature (testing only).")
    var insecureNoSignature = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: ArgumentHelp(
        "Also reconcile from the Nexudus REST API at start and then every DURATION (e.g. 6h, 30m); see `nexmirror sync --help`.",
        valueName: "duration"))
    var syncEvery: IntervalArgument?

    @OptionGroup(title: "Nexudus REST API (with --sync-every)") var api: NexudusOptions

    func validate() throws {
        guard maxBodyBytes > 0 else { throw ValidationError("--max-body-bytes must be positive") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard lockTimeout > 0 else { throw ValidationError("--lock-timeout must be positive") }
    }

    func run() async throws {
        var logger = Logger(label: "nexmirror", factory: StandardErrorLogHandler.init)
        logger.logLevel = logLevel

        let secrets: [String]
        if insecureNoSignature {
            secrets = []
            logger.warning("signature checks are OFF (--insecure-no-signature): anyone can write to the log")
        } else if let loaded = try secret.load(databasePath: database.path) {
            secrets = loaded.secrets
            logger.info("secret loaded", metadata: ["from": "\(loaded.source)", "count": "\(secrets.count)"])
        } else {
            secrets = [try createDefaultSecret()]
        }

        let store: SQLiteStore
        do {
            store = try SQLiteStore(path: database.path, busyTimeout: lockTimeout)
        } catch {
            throw CLIError("cannot open the database \(database.path): \(error)")
        }
        let rebuilt = try store.prepareProjections()
        if !rebuilt.isEmpty {
            logger.notice("projections rebuilt for a new version", metadata: ["projections": "\(rebuilt)"])
        }

        let configuration = ReceiverConfiguration(
            host: host, port: port, maxBodyBytes: maxBodyBytes, secrets: secrets)
        let host = self.host
        let app = buildApplication(configuration: configuration, store: store, logger: logger) { port in
            let shown = host == "0.0.0.0" ? "<this-host>" : host
            // Written unbuffered: scripts and tests wait for this line to learn the port.
            Terminal.write(toStandardOutput: """
                nexmirror listening on http://\(host):\(port)
                Nexudus webhook URL: http://\(shown):\(port)/webhooks/<Action>  (e.g. /webhooks/CoworkerCreate)

                """)
        }
        guard let syncEvery else {
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
            return
        }
        let reconciler = Reconciler(store: store, client: try api.client(databasePath: database.path, logger: logger), logger: logger)
        let sync = SyncService(reconciler: reconciler, interval: syncEvery.duration, logger: logger)
        try await ServiceGroup(
            services: [app, sync], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
        ).run()
    }

    private func createDefaultSecret() throws -> String {
        let path = SecretOptions.defaultFile(besides: database.path)
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        let secret = String((0..<40).map { _ in alphabet.randomElement(using: &generator)! })
        let created = FileManager.default.createFile(
            atPath: path, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600])
        guard created else { throw CLIError("cannot create the secret file \(path)") }
        Terminal.write(toStandardOutput: """
            Created a new webhook secret in \(path) (mode 0600).
            Paste it into Nexudus: Settings › Integrations › Webhooks › Secret, then give each webhook
            the URL printed below. Show it with: cat \(path)

            """)
        return secret
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
