import Foundation
import Hummingbird
import Logging
import NexMirrorCore
import NexMirrorPostgres
import NexMirrorServer
import NexMirrorStore

extension Serve {
    /// `serve --db postgresql://…`: the same receiver on the PostgreSQL store. Several of these may
    /// run on one database; appends and folds are coordinated in the database, not here.
    func runOnPostgres(url text: String, logger: Logger) async throws {
        let url: PostgresURL
        do {
            url = try DatabaseOptions.postgresURL(text)
        } catch let error as PostgresURL.ParseError {
            throw error
        }
        let store: PostgresStore
        do {
            store = try await PostgresStore(url: url, deadline: .nanoseconds(Int64(lockTimeout * 1e9)), logger: logger)
        } catch let error as PostgresOpenError {
            throw error
        }
        // No file beside a database here: the secret comes from --secret-file or the environment.
        let secrets: [String]
        if insecureNoSignature {
            secrets = []
            logger.warning("signature checks are OFF (--insecure-no-signature): anyone can write to the log")
        } else if let secretFile = secret.secretFile {
            secrets = try SecretOptions.read(file: secretFile)
        } else if let value = ProcessInfo.processInfo.environment["NEXMIRROR_SECRET"], !value.isEmpty {
            secrets = value.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        } else {
            throw SecretError.noneForPostgreSQL
        }

        defer { store.close() }
        raiseOpenFileLimit()
        logger.info("store opened", metadata: ["store": "\(url)"])
        let rebuilt = try await store.prepareProjections(progress: nil)
        if !rebuilt.isEmpty {
            logger.notice("projections rebuilt for a new version", metadata: ["projections": "\(rebuilt)"])
        }

        let (app, addresses) = try receiver(store: store, secrets: secrets, logger: logger)
        try await run(app: app, store: store, addresses: addresses, logger: logger)
    }
}
