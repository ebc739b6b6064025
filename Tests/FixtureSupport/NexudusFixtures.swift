import Foundation

/// What Nexudus really sends, for every test target: the fixture bodies (`nexudus/fixtures`),
/// the signatures Nexudus gave them (`SIGNATURES.tsv`) and the secret they were signed with.
///
/// The folder: `NEXMIRROR_SHARED` wins, then the project's shared folder beside the checkout
/// (`../shared`), then the copy kept in `Tests/Fixtures`, so a lone clone still tests.
public enum NexudusFixtures {
    /// The secret every fixture signature was made with.
    public static let secret = "s3crét-Nexudus"

    public static let directory: URL = {
        let fileManager = FileManager.default
        if let shared = ProcessInfo.processInfo.environment["NEXMIRROR_SHARED"] {
            return URL(fileURLWithPath: shared).appendingPathComponent("nexudus/fixtures")
        }
        let beside = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/nexudus/fixtures")
        if fileManager.fileExists(atPath: beside.path) { return beside }
        return packageRoot.appendingPathComponent("Tests/Fixtures/nexudus/fixtures")
    }()

    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Fixture name (file name without `.json`) → the `X-Nexudus-Hook-Signature` Nexudus sent.
    public static let signatures: [String: String] = {
        let text = try! String(contentsOf: directory.appendingPathComponent("SIGNATURES.tsv"), encoding: .utf8)
        var map: [String: String] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let parts = line.split(separator: "\t")
            map[String(parts[0].dropLast(5))] = String(parts[1])
        }
        return map
    }()

    /// Every fixture's name, sorted: the order a test delivers them in (seq 1…32).
    public static let names: [String] = {
        let files = try! FileManager.default.contentsOfDirectory(atPath: directory.path)
        return files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }()

    /// Every fixture with its signature, in `names` order.
    public static var signed: [(name: String, signature: String)] { names.map { ($0, signature($0)) } }

    /// The body exactly as Nexudus sent it.
    public static func body(_ name: String) -> [UInt8] {
        Array(try! Data(contentsOf: directory.appendingPathComponent("\(name).json")))
    }

    /// The signature header of `name`; a fixture without one is a broken checkout.
    public static func signature(_ name: String) -> String {
        guard let signature = signatures[name] else { fatalError("no signature for fixture \(name) in SIGNATURES.tsv") }
        return signature
    }

    /// The action a fixture is delivered as (`emoji-name` is a CoworkerCreate).
    public static func action(of name: String) -> String { name == "emoji-name" ? "CoworkerCreate" : name }

    /// What sync and `webhooks` write (a coworkers sync that found drift, a failing bookings
    /// sync, a disabled TeamCreated webhook), as SQL to insert into a mirror: the operator's
    /// problems without a Nexudus account.
    public static let syncAndWebhookRows = """
        INSERT INTO sync_state (kind, started_at, finished_at, error, listed, fetched, new, changed, deleted, unchanged)
        VALUES ('coworkers', '2026-06-01T10:00:00.0000000Z', '2026-06-01T10:02:00.0000000Z', NULL, 120, 7, 2, 4, 1, 113),
               ('bookings', '2026-06-01T10:00:00.0000000Z', NULL, 'HTTP 500 after 5 retries', 0, 0, 0, 0, 0, 0);
        INSERT INTO nexudus_webhooks (id, business_id, action, url, active, error_count, last_error, seen_at)
        VALUES (1, 10, 'TeamCreated', 'https://m/webhooks/TeamCreated', 0, 10, 'timeout', '2026-06-01T00:00:00.0000000Z');
        """

    /// The fixtures as `nexmirror import` lines (`{"action":…,"body":…}`), in `names` order.
    public static func importLines(_ names: [String] = names) -> [String] {
        names.map { name in
            let line = ["action": action(of: name), "body": String(decoding: body(name), as: UTF8.self)]
            return String(decoding: try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self)
        }
    }
}
