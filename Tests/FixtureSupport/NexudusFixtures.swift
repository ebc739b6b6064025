import Foundation

/// Where the tests find what Nexudus really sends (`nexudus/fixtures`, `webhook-actions.tsv`).
///
/// `NEXMIRROR_SHARED` wins, then the project's shared folder beside the checkout
/// (`../shared`), then the copy kept in `Tests/Fixtures`, so a lone clone still tests.
public enum NexudusFixtures {
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
}
