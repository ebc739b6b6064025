import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import NexMirrorCore
import NexMirrorServer
import NexMirrorStore
import NexudusFixtures
import Testing

/// `POST /webhooks/{action}`: every outcome of SPEC §3, in-process on a real SQLite file.
@Suite struct DeliveryRouteTests {
    @Test func everyFixtureIsAcceptedWithItsSignatureInOrder() async throws {
        let receiver = try Receiver()
        let seqs = try await receiver.test { client in
            var seqs: [Int] = []
            for name in NexudusFixtures.names {
                let answer = try await client.deliver(name)
                #expect(answer.status == .ok, "\(name): \(answer.text)")
                #expect(answer.json["duplicate"] as? Bool == false)
                #expect(answer.headers[.contentType] == "application/json")
                seqs.append(answer.json["seq"] as? Int ?? -1)
            }
            return seqs
        }
        #expect(seqs == Array(1...NexudusFixtures.names.count))
        #expect(try receiver.count("SELECT count(*) FROM events WHERE status = 'ok'") == NexudusFixtures.names.count)
        // Which form matched is kept: a body with non-ASCII text matches only ASCII-folded.
        #expect(try receiver.count("SELECT count(*) FROM events WHERE signature NOT IN ('raw', 'ascii-folded')") == 0)
        let emojiSeq = NexudusFixtures.names.firstIndex(of: "emoji-name")! + 1
        #expect(try receiver.strings("SELECT signature FROM events WHERE seq = \(emojiSeq)") == ["ascii-folded"])
    }

    @Test func theBodyIsKeptByteForByte() async throws {
        let receiver = try Receiver()
        let name = "emoji-name"
        _ = try await receiver.test { client in try await client.deliver(name) }
        let stored = try await receiver.store.pool.read { db in try Data.fetchOne(db, sql: "SELECT body FROM events WHERE seq = 1") }
        #expect(stored == Data(NexudusFixtures.body(name)))
    }

    @Test(arguments: [("bookingcreate", "BookingCreate"), ("BOOKINGUPDATE", "BookingUpdate"), ("7", "BookingUpdate")])
    func actionIsMatchedCaseInsensitivelyOrById(route: String, action: String) async throws {
        let receiver = try Receiver()
        let answer = try await receiver.test { client in try await client.deliver(action, as: route) }
        #expect(answer.status == .ok, "\(answer.text)")
        #expect(try receiver.strings("SELECT action FROM events") == [action])
    }

    @Test func redeliveryIsADuplicateAndAppendsNothing() async throws {
        let receiver = try Receiver()
        let (first, again) = try await receiver.test { client in
            (try await client.deliver("CoworkerCreate"), try await client.deliver("CoworkerCreate"))
        }
        #expect(again.status == .ok)
        #expect(first.json["duplicate"] as? Bool == false)
        #expect(again.json["duplicate"] as? Bool == true)
        #expect(again.json["seq"] as? Int == first.json["seq"] as? Int)
        #expect(try receiver.count("SELECT count(*) FROM events") == 1)
    }

    @Test func theSameBodyUnderAnotherActionIsANewDelivery() async throws {
        let receiver = try Receiver()
        let seqs = try await receiver.test { client in
            let body = NexudusFixtures.body("CoworkerUpdate")
            let signature = NexudusFixtures.signature("CoworkerUpdate")
            var seqs: [Int?] = []
            for route in ["CoworkerUpdate", "CoworkerCreate"] {
                let answer = try await client.post("/webhooks/\(route)", body: body, headers: [.nexudusSignature: signature])
                seqs.append(answer.json["seq"] as? Int)
            }
            return seqs
        }
        #expect(seqs == [1, 2])
    }

    @Test func badSignaturesGet401AndAreOnlyRecordedAsRejections() async throws {
        let receiver = try Receiver()
        let body = NexudusFixtures.body("BookingCreate")
        let good = NexudusFixtures.signature("BookingCreate")
        var flipped = body
        flipped[10] ^= 0x01
        let attempts: [([UInt8], String?)] = [
            (body, nil),
            (body, String(good.dropLast(4))),
            (body, "sha256=" + good),
            (flipped, good),
            (body, NexudusFixtures.signature("BookingUpdate")),
        ]
        let (metrics, lowercase) = try await receiver.test { client in
            for (payload, signature) in attempts {
                let headers: HTTPFields = signature.map { [.nexudusSignature: $0] } ?? [:]
                let answer = try await client.post("/webhooks/BookingCreate", body: payload, headers: headers)
                #expect(answer.status == .unauthorized, "\(signature ?? "no header")")
                #expect((answer.json["error"] as? String)?.hasPrefix("signature ") == true, "\(answer.text)")
            }
            let lowercase = try await client.post(
                "/webhooks/BookingCreate", body: body, headers: [.nexudusSignature: good.lowercased()])
            // Rejections are written in the background: wait for them before the app stops.
            #expect(try await eventually(within: backgroundWork) { try receiver.count("SELECT count(*) FROM rejections") == attempts.count })
            return (try await client.get("/metrics").text, lowercase)
        }
        #expect(lowercase.status == .ok)
        #expect(metrics.contains(#"nexmirror_deliveries_total{action="BookingCreate",outcome="rejected"} 5"#))
        #expect(try receiver.count("SELECT count(*) FROM events") == 1)
        #expect(try receiver.count("SELECT count(*) FROM rejections WHERE action = 'BookingCreate' AND size > 0") == 5)
        // Kept for the operator: time, action, size, body hash (never the body itself).
        #expect(try receiver.count("""
            SELECT count(*) FROM rejections
            WHERE received_at LIKE '____-__-__T__:__:__._______Z' AND length(body_sha256) = 64
            """) == 5)
        #expect(try receiver.count("SELECT count(DISTINCT body_sha256) FROM rejections") == 2)
        #expect(try receiver.count("SELECT count(DISTINCT reason) FROM rejections") >= 2)
    }

    @Test func wrongSecretIsRejected() async throws {
        let receiver = try Receiver(secrets: ["another-secret"])
        let answer = try await receiver.test { client in try await client.deliver("TeamCreated") }
        #expect(answer.status == .unauthorized)
        #expect(try receiver.count("SELECT count(*) FROM events") == 0)
    }

    @Test func rotationAcceptsEitherSecret() async throws {
        let receiver = try Receiver(secrets: ["new-secret", NexudusFixtures.secret])
        let body = NexudusFixtures.body("TeamUpdated")
        let answers = try await receiver.test { client in
            [
                try await client.deliver("TeamCreated"),
                try await client.post("/webhooks/TeamUpdated", body: body, headers: [
                    .nexudusSignature: NexudusSignature.sign(body: body, secret: "new-secret"),
                ]),
            ]
        }
        #expect(answers.map(\.status) == [.ok, .ok])
    }

    @Test func withoutSecretsUnsignedDeliveriesAreAccepted() async throws {
        let receiver = try Receiver(secrets: [])
        let answer = try await receiver.test { client in
            try await client.post("/webhooks/CoworkerCreate", body: NexudusFixtures.body("CoworkerCreate"))
        }
        #expect(answer.status == .ok)
        #expect(try receiver.strings("SELECT signature FROM events") == ["unsigned"])
    }

    @Test(arguments: ["NoSuchAction", "0", "91", "HelpDeskMessageCreated"])
    func unknownActionIs404NamingTheRoute(route: String) async throws {
        let receiver = try Receiver()
        let (answer, metrics) = try await receiver.test { client in
            (try await client.post("/webhooks/\(route)", body: NexudusFixtures.body("TeamCreated")),
             try await client.get("/metrics").text)
        }
        #expect(answer.status == .notFound)
        #expect(answer.json["route"] as? String == "/webhooks/\(route)")
        #expect((answer.json["error"] as? String)?.contains("nexmirror actions") == true)
        #expect(metrics.contains(#"nexmirror_deliveries_total{action="unknown",outcome="unknown_action"} 1"#))
        #expect(try receiver.count("SELECT count(*) FROM events") == 0)
    }

    @Test func oversizedBodyIs413BeforeTheSignatureIsChecked() async throws {
        let receiver = try Receiver { $0.maxBodyBytes = 500 }
        let (big, small, metrics) = try await receiver.test { client in
            (try await client.deliver("CoworkerCreate"),
             try await client.post("/webhooks/TeamCreated", body: Array("[]".utf8), headers: [.nexudusSignature: "00"]),
             try await client.get("/metrics").text)
        }
        #expect(NexudusFixtures.body("CoworkerCreate").count > 500)
        #expect(big.status == .contentTooLarge)
        #expect((big.json["error"] as? String)?.contains("--max-body-bytes") == true)
        #expect(small.status == .unauthorized)
        #expect(metrics.contains(#"nexmirror_deliveries_total{action="CoworkerCreate",outcome="too_large"} 1"#))
        #expect(try receiver.count("SELECT count(*) FROM events") == 0)
    }

    @Test func aBodyExactlyAtTheLimitIsAccepted() async throws {
        let body = NexudusFixtures.body("CoworkerCreate")
        let receiver = try Receiver { $0.maxBodyBytes = body.count }
        let answer = try await receiver.test { client in try await client.deliver("CoworkerCreate") }
        #expect(answer.status == .ok)
    }

    @Test(arguments: [
        (#"{"Id": 1, "not": "an array"}"#, "expected an array"),
        ("[]", "expected exactly one DTO"),
        (#"[{"FullName": "no id"}]"#, "DTO has no Id"),
        ("not json", "body is not JSON"),
    ])
    func signedUndecodableBodyIsQuarantinedAndAnswered200(body text: String, reason: String) async throws {
        let receiver = try Receiver()
        let body = Array(text.utf8)
        let (answer, metrics) = try await receiver.test { client in
            (try await client.post("/webhooks/CoworkerCreate", body: body, headers: [
                .nexudusSignature: NexudusSignature.sign(body: body, secret: NexudusFixtures.secret),
            ]), try await client.get("/metrics").text)
        }
        #expect(answer.status == .ok)
        #expect(answer.json["duplicate"] as? Bool == false)
        #expect(metrics.contains(#"nexmirror_deliveries_total{action="CoworkerCreate",outcome="quarantined"} 1"#))
        let rows = try receiver.store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT status, error, body FROM events")
        }
        #expect(rows.count == 1)
        #expect(rows.first?["status"] == "quarantined")
        #expect((rows.first?["error"] as String?)?.contains(reason) == true, "\(rows)")
        #expect(rows.first?["body"] == Data(body))
    }

    @Test func aStoreLockedPastItsTimeoutAnswers503AndNothingIsAcknowledged() async throws {
        let receiver = try Receiver(busyTimeout: 0.5)
        // Another connection holds the write lock for longer than the receiver's busy timeout.
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        configuration.busyMode = .timeout(5)
        let blocker = try DatabaseQueue(path: receiver.path, configuration: configuration)
        let (before, blocked, ready, retried, metrics) = try await receiver.test { client in
            let before = try await client.deliver("BookingCreate")
            try await blocker.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
            let blocked = try await client.deliver("BookingUpdate")
            let ready = try await client.get("/readyz")
            try await blocker.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
            let retried = try await client.deliver("BookingUpdate")
            return (before, blocked, ready, retried, try await client.get("/metrics").text)
        }
        #expect(before.status == .ok)
        #expect(blocked.status == .serviceUnavailable)
        #expect((blocked.json["error"] as? String)?.contains("retry") == true)
        #expect(ready.status == .serviceUnavailable)
        #expect(retried.status == .ok)
        #expect(retried.json["duplicate"] as? Bool == false)
        #expect(retried.json["seq"] as? Int == 2)
        #expect(metrics.contains(#"nexmirror_deliveries_total{action="BookingUpdate",outcome="unavailable"} 1"#))
        #expect(try receiver.count("SELECT count(*) FROM events") == 2)
    }

    /// The latency (within a second) is a property of the process: ServeProcessTests.
    @Test func theProjectorFoldsAnAcknowledgedDeliveryInTheBackground() async throws {
        let receiver = try Receiver()
        let folded = try await receiver.test { client in
            #expect(try await client.deliver("CoworkerCreate").status == .ok)
            return try await eventually(within: backgroundWork) {
                try receiver.count("SELECT count(*) FROM members WHERE id = 1419000582") == 1
            }
        }
        #expect(folded)
    }
}
