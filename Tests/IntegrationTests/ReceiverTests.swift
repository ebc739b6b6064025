import Foundation
import GRDB
import NexudusFixtures
import Testing

/// The real `nexmirror serve` on a loopback port, driven over HTTP like Nexudus drives it.
@Suite(.serialized) struct ReceiverTests {
    private func server(_ scratch: Scratch, _ extra: [String] = []) throws -> RunningServer {
        try RunningServer(arguments: ["--db", scratch.path("mirror.sqlite"), "--secret-file", scratch.secretFile()] + extra)
    }

    private func count(_ scratch: Scratch, _ sql: String) throws -> Int {
        let queue = try DatabaseQueue(path: scratch.path("mirror.sqlite"))
        return try queue.read { db in try Int.fetchOne(db, sql: sql) ?? -1 }
    }

    @Test func everyFixtureIsAcceptedWithItsSignature() async throws {
        let scratch = Scratch()
        let server = try server(scratch)
        var seqs: [Int] = []
        for name in NexudusFixtures.names {
            let answer = try await HTTP.deliver(name, to: server)
            #expect(answer.status == 200, "\(name): \(answer.body)")
            #expect(answer.json["duplicate"] as? Bool == false)
            seqs.append(answer.json["seq"] as? Int ?? -1)
        }
        #expect(seqs == Array(1...NexudusFixtures.names.count))
        server.stop()
        #expect(try count(scratch, "SELECT count(*) FROM events WHERE status = 'ok'") == NexudusFixtures.names.count)
    }

    @Test func actionIsMatchedCaseInsensitivelyOrById() async throws {
        let scratch = Scratch()
        let server = try server(scratch)
        let byLowercase = try await HTTP.deliver("BookingCreate", to: server, as: "bookingcreate")
        #expect(byLowercase.status == 200)
        let byId = try await HTTP.deliver("BookingUpdate", to: server, as: "7")
        #expect(byId.status == 200)
        server.stop()
        let queue = try DatabaseQueue(path: scratch.path("mirror.sqlite"))
        let actions = try await queue.read { db in try String.fetchAll(db, sql: "SELECT action FROM events ORDER BY seq") }
        #expect(actions == ["BookingCreate", "BookingUpdate"])
    }

    @Test func redeliveryIsADuplicateAndAppendsNothing() async throws {
        let scratch = Scratch()
        let server = try server(scratch)
        let first = try await HTTP.deliver("CoworkerCreate", to: server)
        let again = try await HTTP.deliver("CoworkerCreate", to: server)
        #expect(again.status == 200)
        #expect(again.json["duplicate"] as? Bool == true)
        #expect(again.json["seq"] as? Int == first.json["seq"] as? Int)
        server.stop()
        #expect(try count(scratch, "SELECT count(*) FROM events") == 1)
    }

    @Test func badSignaturesGet401AndAreOnlyRecordedAsRejections() async throws {
        let scratch = Scratch()
        let server = try server(scratch)
        let url = "\(server.baseURL)/webhooks/BookingCreate"
        let body = NexudusFixtures.body("BookingCreate")
        let good = NexudusFixtures.signature("BookingCreate")
        var flipped = body
        flipped[10] ^= 0x01
        let attempts: [([UInt8], [(String, String)])] = [
            (body, []),
            (body, [("X-Nexudus-Hook-Signature", String(good.dropLast(4)))]),
            (body, [("X-Nexudus-Hook-Signature", "sha256=" + good)]),
            (flipped, [("X-Nexudus-Hook-Signature", good)]),
            (body, [("X-Nexudus-Hook-Signature", NexudusFixtures.signature("BookingUpdate"))]),
        ]
        for (payload, headers) in attempts {
            let answer = try await HTTP.post(url, body: payload, headers: headers)
            #expect(answer.status == 401, "\(headers)")
        }
        let lower = try await HTTP.post(url, body: body, headers: [("X-Nexudus-Hook-Signature", good.lowercased())])
        #expect(lower.status == 200)
        try await Task.sleep(for: .milliseconds(300))
        let metrics = try await HTTP.get("\(server.baseURL)/metrics")
        #expect(metrics.body.contains(#"nexmirror_deliveries_total{action="BookingCreate",outcome="rejected"} 5"#))
        server.stop()
        #expect(try count(scratch, "SELECT count(*) FROM events") == 1)
        #expect(try count(scratch, "SELECT count(*) FROM rejections") == 5)
        #expect(try count(scratch, "SELECT count(*) FROM rejections WHERE remote_address = '127.0.0.1' AND size > 0") == 5)
    }

    @Test func wrongSecretIsRejectedAndRotationAcceptsEitherSecret() async throws {
        let scratch = Scratch()
        let wrong = try RunningServer(arguments: [
            "--db", scratch.path("wrong.sqlite"), "--secret-file", scratch.secretFile(["another-secret"]),
        ])
        #expect(try await HTTP.deliver("TeamCreated", to: wrong).status == 401)
        wrong.stop()
        let rotating = try RunningServer(
            arguments: ["--db", scratch.path("rotating.sqlite")],
            environment: ["NEXMIRROR_SECRET": "new-secret\n\(NexudusFixtures.secret)\n"])
        #expect(try await HTTP.deliver("TeamCreated", to: rotating).status == 200)
        rotating.stop()
    }

    @Test func unknownActionIs404NamingTheRoute() async throws {
        let scratch = Scratch()
        let server = try server(scratch)
        for route in ["NoSuchAction", "0", "91", "HelpDeskMessageCreated"] {
            let answer = try await HTTP.post("\(server.baseURL)/webhooks/\(route)", body: NexudusFixtures.body("TeamCreated"))
            #expect(answer.status == 404)
            #expect(answer.json["route"] as? String == "/webhooks/\(route)")
        }
        server.stop()
    }

    @Test func oversizedBodyIs413() async throws {
        let scratch = Scratch()
        let server = try server(scratch, ["--max-body-bytes", "500"])
        let answer = try await HTTP.deliver("CoworkerCreate", to: server)
        #expect(answer.status == 413)
        let small = try await HTTP.post(
            "\(server.baseURL)/webhooks/TeamCreated", body: Array("[]".utf8), headers: [("X-Nexudus-Hook-Signature", "00")])
        #expect(small.status == 401)
        server.stop()
        #expect(try count(scratch, "SELECT count(*) FROM events") == 0)
    }

    @Test func signedUndecodableBodyIsQuarantinedAndAnswered200() async throws {
        let scratch = Scratch()
        let server = try server(scratch)
        let body = Array(#"{"Id": 1, "not": "an array"}"#.utf8)
        let signature = try CLI.run(["sign", "--secret-file", scratch.secretFile()], stdin: body).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let answer = try await HTTP.post(
            "\(server.baseURL)/webhooks/CoworkerCreate", body: body, headers: [("X-Nexudus-Hook-Signature", signature)])
        #expect(answer.status == 200)
        #expect(answer.json["duplicate"] as? Bool == false)
        server.stop()
        #expect(try count(scratch, "SELECT count(*) FROM events WHERE status = 'quarantined' AND error LIKE '%expected an array%'") == 1)
    }

    @Test func healthReadinessAndMetrics() async throws {
        let scratch = Scratch()
        let server = try server(scratch)
        #expect(try await HTTP.get("\(server.baseURL)/healthz").status == 200)
        #expect(try await HTTP.get("\(server.baseURL)/readyz").status == 200)
        _ = try await HTTP.deliver("BookingCreate", to: server)
        try await Task.sleep(for: .milliseconds(500))
        let metrics = try await HTTP.get("\(server.baseURL)/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains(#"nexmirror_deliveries_total{action="BookingCreate",outcome="accepted"} 1"#))
        #expect(metrics.body.contains("nexmirror_ingest_duration_seconds_bucket"))
        #expect(metrics.body.contains("nexmirror_event_log_deliveries 1"))
        #expect(metrics.body.contains("nexmirror_projection_lag_deliveries 0"))
        server.stop()
    }

    @Test func replicaReflectsAnAcknowledgedDeliveryWithinASecond() async throws {
        let scratch = Scratch()
        let server = try server(scratch)
        _ = try await HTTP.deliver("CoworkerCreate", to: server)
        let deadline = Date().addingTimeInterval(1)
        var rows = 0
        while Date() < deadline, rows == 0 {
            rows = try count(scratch, "SELECT count(*) FROM members WHERE id = 1419000582")
            if rows == 0 { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(rows == 1)
        server.stop()
    }

    @Test func refusesToStartWithoutASecretAndCreatesOne() async throws {
        let scratch = Scratch()
        let server = try RunningServer(arguments: ["--db", scratch.path("mirror.sqlite")])
        let secretPath = scratch.path("nexmirror.secret")
        let attributes = try FileManager.default.attributesOfItem(atPath: secretPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let secret = try String(contentsOfFile: secretPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.count >= 32)
        #expect(server.standardOutput.contains("Settings › Integrations"))
        #expect(!server.standardError.contains(secret))
        // `send` finds the same default secret beside the database.
        let sent = try CLI.run(["send", "CoworkerCreate", "--url", server.baseURL, "--db", scratch.path("mirror.sqlite")])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.output.hasPrefix("200 "))
        let unsigned = try await HTTP.post("\(server.baseURL)/webhooks/CoworkerCreate", body: NexudusFixtures.body("CoworkerCreate"))
        #expect(unsigned.status == 401)
        server.stop()
    }

    @Test func insecureModeAcceptsUnsignedDeliveries() async throws {
        let scratch = Scratch()
        let server = try RunningServer(arguments: ["--db", scratch.path("mirror.sqlite"), "--insecure-no-signature"])
        let answer = try await HTTP.post("\(server.baseURL)/webhooks/CoworkerCreate", body: NexudusFixtures.body("CoworkerCreate"))
        #expect(answer.status == 200)
        server.stop()
        #expect(!FileManager.default.fileExists(atPath: scratch.path("nexmirror.secret")))
    }

    @Test func lockedStoreAnswers503AndNothingIsAcknowledged() async throws {
        let scratch = Scratch()
        let server = try server(scratch, ["--lock-timeout", "0.5"])
        #expect(try await HTTP.deliver("BookingCreate", to: server).status == 200)
        // Another process holds the write lock for longer than the server's busy timeout.
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        configuration.busyMode = .timeout(5)
        let blocker = try DatabaseQueue(path: scratch.path("mirror.sqlite"), configuration: configuration)
        try await blocker.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        let blocked = try await HTTP.deliver("BookingUpdate", to: server)
        #expect(blocked.status == 503)
        #expect(try await HTTP.get("\(server.baseURL)/readyz").status == 503)
        try await blocker.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
        let retried = try await HTTP.deliver("BookingUpdate", to: server)
        #expect(retried.status == 200)
        #expect(retried.json["duplicate"] as? Bool == false)
        server.stop()
    }
}
