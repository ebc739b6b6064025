import Foundation
import GRDB
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// `serve --db` pointed at a file that is not a nexmirror database: one clear line, exit 1, and
/// the file exactly as it was (no WAL switch, no tables added, no secret file beside it).
@Suite struct StartupRefusalTests {
    static func refuses(_ path: String, saying expected: String, walFileAllowed: Bool = false) async throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let result = try await CLI.run(["serve", "--db", path, "--port", "0"])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/nexmirror.secret"))
        // A WAL-mode file of ours may get its empty side files from the read-only look at it.
        if !walFileAllowed { #expect(!FileManager.default.fileExists(atPath: path + "-wal")) }
    }

    @Test func anotherApplicationsSQLiteFileIsLeftUntouched() async throws {
        let scratch = Scratch()
        let path = scratch.path("crm.sqlite")
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT)")
            try db.execute(sql: "INSERT INTO contacts (name) VALUES ('Ada')")
        }
        try queue.close()
        try await Self.refuses(path, saying: "is not a nexmirror database")
    }

    @Test func aFileThatIsNotSQLiteIsRefused() async throws {
        let scratch = Scratch()
        let path = scratch.path("notes.sqlite")
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        try await Self.refuses(path, saying: "is not an SQLite database")
    }

    @Test func aDamagedNexmirrorDatabaseIsRefused() async throws {
        let scratch = Scratch()
        let path = scratch.path("damaged.sqlite")
        var bytes = try Data(contentsOf: NexudusFixturesUpgrade.released)
        // Overwrite the pages after the header with garbage: the schema can no longer be read.
        for offset in 100..<min(bytes.count, 16384) { bytes[offset] = UInt8(truncatingIfNeeded: offset &* 31) }
        try bytes.write(to: URL(fileURLWithPath: path))
        try await Self.refuses(path, saying: "damaged", walFileAllowed: true)
    }
}

enum NexudusFixturesUpgrade {
    static let released = NexudusFixtures.packageRoot.appendingPathComponent("Tests/Fixtures/upgrade/release-4622ef4.sqlite")
}
