import Foundation
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// `sign`, `verify`, `actions`, `send` and the CLI's error handling, through the real binary.
@Suite struct ToolTests {
    @Test func signPrintsTheFixtureSignatureForEveryFixture() async throws {
        let scratch = Scratch()
        let secretFile = scratch.secretFile()
        for name in ["CoworkerCreate", "emoji-name", "CoworkerInvoiceRefund"] {
            let result = try await CLI.run(["sign", "--secret-file", secretFile], stdin: NexudusFixtures.body(name))
            #expect(result.status == 0)
            #expect(result.output == NexudusFixtures.signature(name) + "\n")
        }
    }

    @Test func signReadsTheSecretFromTheEnvironment() async throws {
        let result = try await CLI.run(
            ["sign"], stdin: NexudusFixtures.body("TeamCreated"), environment: ["NEXMIRROR_SECRET": NexudusFixtures.secret])
        #expect(result.output.trimmingCharacters(in: .newlines) == NexudusFixtures.signatures["TeamCreated"])
    }

    @Test func signWithoutAnySecretFailsWithOneLine() async throws {
        let scratch = Scratch()
        let result = try await CLI.run(["sign", "--db", scratch.path("none.sqlite")], stdin: Array("[]".utf8))
        #expect(result.status == 1)
        #expect(result.stderr.contains("no secret"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func verifyNamesTheFormThatMatched() async throws {
        let scratch = Scratch()
        let secretFile = scratch.secretFile()
        let body = scratch.path("body.json")
        try Data(NexudusFixtures.body("emoji-name")).write(to: URL(fileURLWithPath: body))
        let folded = try await CLI.run([
            "verify", "--signature", NexudusFixtures.signature("emoji-name"), "--body", body, "--secret-file", secretFile,
        ])
        #expect(folded.status == 0)
        #expect(folded.output.contains("ASCII-folded"))

        try Data(NexudusFixtures.body("CoworkerInvoicePaid")).write(to: URL(fileURLWithPath: body))
        let raw = try await CLI.run([
            "verify", "--signature", NexudusFixtures.signature("CoworkerInvoicePaid").lowercased(), "--body", body,
            "--secret-file", secretFile,
        ])
        #expect(raw.status == 0)
        #expect(raw.output.contains("raw body bytes"))
    }

    @Test func verifyExplainsWhyNothingMatched() async throws {
        let scratch = Scratch()
        let secretFile = scratch.secretFile()
        let body = scratch.path("body.json")
        try Data(NexudusFixtures.body("BookingCreate") + [0x0A]).write(to: URL(fileURLWithPath: body))
        let newline = try await CLI.run([
            "verify", "--signature", NexudusFixtures.signature("BookingCreate"), "--body", body, "--secret-file", secretFile,
        ])
        #expect(newline.status == 1)
        #expect(newline.stderr.contains("trailing newline"))

        try Data(NexudusFixtures.body("BookingCreate")).write(to: URL(fileURLWithPath: body))
        let wrongSecret = try await CLI.run([
            "verify", "--signature", NexudusFixtures.signature("BookingCreate"), "--body", body,
            "--secret-file", scratch.secretFile(["not-the-secret"]),
        ])
        #expect(wrongSecret.status == 1)
        #expect(wrongSecret.stderr.contains("secret differs"))

        let prefixed = try await CLI.run([
            "verify", "--signature", "sha256=" + NexudusFixtures.signature("BookingCreate"), "--body", body,
            "--secret-file", secretFile,
        ])
        #expect(prefixed.status == 1)
        #expect(prefixed.stderr.contains("malformed"))
    }

    @Test func actionsListsAll90WithTheirProjection() async throws {
        let result = try await CLI.run(["actions"])
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 91)
        #expect(lines.contains { $0.hasPrefix("21") && $0.contains("CoworkerInvoicePaid") && $0.hasSuffix("invoices") })
        #expect(lines.contains { $0.contains("TariffDelete") && $0.contains("delete") && $0.hasSuffix("entities") })
    }

    @Test func sendRefusesUnknownActionsAndUnreachableReceivers() async throws {
        let scratch = Scratch()
        let unknown = try await CLI.run(["send", "Nope", "--secret-file", scratch.secretFile()])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("unknown action"))
        let unreachable = try await CLI.run(["send", "CoworkerCreate", "--url", "http://127.0.0.1:9", "--secret-file", scratch.secretFile()])
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.contains("cannot reach"))
    }

    @Test func sendPostsAFixtureBodyThatTheReceiverStoresByteForByte() async throws {
        let scratch = Scratch()
        let server = try await RunningServer(arguments: ["--db", scratch.path("mirror.sqlite"), "--secret-file", scratch.secretFile()])
        let body = scratch.path("body.json")
        try Data(NexudusFixtures.body("emoji-name")).write(to: URL(fileURLWithPath: body))
        let sent = try await CLI.run([
            "send", "coworkercreate", "--body", body, "--url", server.baseURL, "--secret-file", scratch.secretFile(),
        ])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.output == "200 {\"duplicate\":false,\"seq\":1}\n")
        let again = try await CLI.run(["send", "3", "--body", body, "--url", server.baseURL, "--secret-file", scratch.secretFile()])
        #expect(again.output.contains("\"duplicate\":true"))
        await server.stop()
    }

    @Test func rebuildOnAMissingDatabaseIsOneClearLine() async throws {
        let scratch = Scratch()
        let result = try await CLI.run(["rebuild", "--db", scratch.path("missing.sqlite")])
        #expect(result.status != 0)
        #expect(result.stderr.contains("no database at"))
        #expect(result.stderr.split(separator: "\n").count == 1)
        let unknown = try await CLI.run(["rebuild", "--db", scratch.path("missing.sqlite"), "--projection", "nope"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("unknown projection 'nope'"))
    }

    @Test func versionAndHelp() async throws {
        // The version and the commit the binary was built from (Plugins/BuildCommit).
        let version = try await CLI.run(["--version"]).output
        #expect(version.wholeMatch(of: /0\.1\.0 \(commit ([0-9a-f]{12}|unknown)\)\n/) != nil, "\(version)")
        let help = try await CLI.run(["serve", "--help"])
        for flag in ["--host", "--port", "--secret-file", "--max-body-bytes", "--insecure-no-signature", "--db"] {
            #expect(help.output.contains(flag), "\(flag)")
        }
    }
}
