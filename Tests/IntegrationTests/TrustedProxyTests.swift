import Foundation
import GRDB
import NexudusFixtures
import Testing

/// `serve --trusted-proxy`: where the address kept with a rejected signature comes from.
@Suite(.serialized) struct TrustedProxyTests {
    /// Sends one badly signed delivery claiming to be forwarded for 203.0.113.9 and returns the
    /// address recorded with its rejection.
    private func recordedAddress(serveArguments: [String]) async throws -> String? {
        let scratch = Scratch()
        let database = scratch.path("mirror.sqlite")
        let server = try RunningServer(
            arguments: ["--db", database, "--secret-file", scratch.secretFile()] + serveArguments)
        let answer = try await HTTP.post(
            "\(server.baseURL)/webhooks/BookingCreate", body: NexudusFixtures.body("BookingCreate"),
            headers: [("X-Nexudus-Hook-Signature", String(repeating: "0", count: 64)),
                      ("X-Forwarded-For", "198.51.100.1, 203.0.113.9")])
        #expect(answer.status == 401)
        let queue = try DatabaseQueue(path: database)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let addresses = try await queue.read { db in
                try String?.fetchAll(db, sql: "SELECT remote_address FROM rejections")
            }
            if let first = addresses.first { server.stop(); return first }
            try await Task.sleep(for: .milliseconds(50))
        }
        server.stop()
        Issue.record("no rejection recorded within 10 s")
        return nil
    }

    @Test func withoutTrustedProxyTheForwardedHeaderIsIgnored() async throws {
        #expect(try await recordedAddress(serveArguments: []) == "127.0.0.1")
    }

    @Test func fromATrustedProxyTheRightMostForwardedAddressIsRecorded() async throws {
        #expect(try await recordedAddress(serveArguments: ["--trusted-proxy", "127.0.0.1"]) == "203.0.113.9")
    }

    @Test func fromAnotherPeerTheForwardedHeaderIsIgnored() async throws {
        #expect(try await recordedAddress(serveArguments: ["--trusted-proxy", "10.0.0.0/8"]) == "127.0.0.1")
    }

    @Test func anInvalidTrustedProxyIsOneClearError() throws {
        let result = try CLI.run(["serve", "--trusted-proxy", "localhost", "--insecure-no-signature"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--trusted-proxy 'localhost' is not an IP address"))
    }
}
