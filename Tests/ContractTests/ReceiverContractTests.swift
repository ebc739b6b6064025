import Foundation
import NexMirrorCore
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// Every HTTP outcome of SPEC §3, on the real `serve` binary over loopback with the fixtures, on
/// both backends.
@Suite struct ReceiverContractTests {
    @Test(arguments: Backend.all)
    func everyFixtureIsCommittedOnceAndARedeliveryIsADuplicate(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        let server = try await database.serve()
        #expect(try await HTTP.get("\(server.baseURL)/healthz").status == 200)
        #expect(try await HTTP.get("\(server.baseURL)/readyz").status == 200)
        let names = NexudusFixtures.names
        for (index, name) in names.enumerated() {
            let answer = try await HTTP.deliver(name, to: server)
            #expect(answer.status == 200, "\(name): \(answer.body)")
            #expect(answer.json["seq"] as? Int == index + 1, "\(name): \(answer.body)")
            #expect(answer.json["duplicate"] as? Bool == false, "\(name)")
        }
        for (index, name) in names.enumerated() {
            let again = try await HTTP.deliver(name, to: server)
            #expect(again.status == 200, "\(name): \(again.body)")
            #expect(again.json["seq"] as? Int == index + 1, "\(name)")
            #expect(again.json["duplicate"] as? Bool == true, "\(name)")
        }
        // Acknowledged means in the log, once, byte for byte; and folded without a quarantine.
        #expect(try await database.value("SELECT count(*) FROM events") == "\(names.count)")
        for seq in [1, names.count] {
            let shown = try await database.run(["events", "show", "\(seq)"])
            #expect(shown.stdout == Data(NexudusFixtures.body(names[seq - 1])), "events show \(seq): \(shown.stderr)")
        }
        try await database.waitUntilFolded()
        #expect(try await database.value("SELECT count(*) FROM events WHERE status = 'quarantined'") == "0")
        #expect(try await database.value("SELECT count(*) FROM bookings") != "0")
        #expect(await server.stop() == 0)
    }

    /// Missing header, malformed header (short, prefixed), a changed body, another body's
    /// signature, and the right body under the wrong secret: 401 each, nothing logged, only the
    /// metadata kept. Hex case does not matter.
    @Test(arguments: Backend.all)
    func aBadSignatureIs401AndOnlyItsMetadataIsKept(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        let body = NexudusFixtures.body("BookingCreate")
        let good = NexudusFixtures.signature("BookingCreate")
        var changed = body
        changed[10] ^= 0x01
        let attempts: [(String, [UInt8], String?)] = [
            ("missing header", body, nil),
            ("short header", body, String(good.dropLast(4))),
            ("prefixed header", body, "sha256=" + good),
            ("changed body", changed, good),
            ("another body's signature", body, NexudusFixtures.signature("BookingUpdate")),
        ]
        let server = try await database.serve()
        for (kind, payload, signature) in attempts {
            let answer = try await HTTP.post(
                "\(server.baseURL)/webhooks/BookingCreate", body: payload,
                headers: signature.map { [("X-Nexudus-Hook-Signature", $0)] } ?? [])
            #expect(answer.status == 401, "\(kind): \(answer.body)")
            #expect((answer.json["error"] as? String)?.hasPrefix("signature ") == true, "\(kind): \(answer.body)")
        }
        #expect(try await eventually(within: 30) { try await database.value("SELECT count(*) FROM rejections") == "5" })
        await server.stop()

        let wrongSecret = try await database.serve(secrets: ["another-secret"])
        let refused = try await HTTP.deliver("BookingCreate", to: wrongSecret)
        #expect(refused.status == 401, "\(refused.body)")
        await wrongSecret.stop()
        #expect(try await database.value("SELECT count(*) FROM events") == "0")
        #expect(try await database.value("""
            SELECT count(*) FROM rejections
            WHERE action = 'BookingCreate' AND size > 0 AND length(body_sha256) = 64 AND reason IS NOT NULL
            """) == "6")
        #expect(try await database.value("SELECT count(DISTINCT body_sha256) FROM rejections") == "2")

        let again = try await database.serve()
        let lowercase = try await HTTP.post(
            "\(again.baseURL)/webhooks/BookingCreate", body: body, headers: [("X-Nexudus-Hook-Signature", good.lowercased())])
        #expect(lowercase.status == 200, "\(lowercase.body)")
        #expect(try await database.value("SELECT count(*) FROM events") == "1")
        await again.stop()
    }

    /// A body with characters outside ASCII is signed by Nexudus over its ASCII-folded form
    /// (`emoji-name`: a surrogate pair folded to `??`): accepted, and kept as received.
    @Test(arguments: Backend.all)
    func anASCIIFoldedSignatureIsAccepted(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        let server = try await database.serve()
        let answer = try await HTTP.deliver("emoji-name", to: server)
        #expect(answer.status == 200, "\(answer.body)")
        #expect(answer.json["duplicate"] as? Bool == false)
        await server.stop()
        #expect(try await database.rows("SELECT action, signature FROM events") == [["CoworkerCreate", "ascii-folded"]])
        let shown = try await database.run(["events", "show", "1"])
        #expect(shown.stdout == Data(NexudusFixtures.body("emoji-name")), "\(shown.stderr)")
    }

    /// An unknown action name or id is 404 with a JSON error naming the route; a known one is
    /// found whatever its case, or by its numeric id.
    @Test(arguments: Backend.all)
    func anUnknownActionIs404NamingTheRoute(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        let server = try await database.serve()
        for route in ["NoSuchAction", "0", "91", "HelpDeskMessageCreated"] {
            let answer = try await HTTP.post(
                "\(server.baseURL)/webhooks/\(route)", body: NexudusFixtures.body("TeamCreated"),
                headers: [("X-Nexudus-Hook-Signature", NexudusFixtures.signature("TeamCreated"))])
            #expect(answer.status == 404, "\(route): \(answer.body)")
            #expect(answer.json["route"] as? String == "/webhooks/\(route)", "\(answer.body)")
            #expect((answer.json["error"] as? String)?.contains("nexmirror actions") == true, "\(answer.body)")
        }
        #expect(try await HTTP.get("\(server.baseURL)/no/such/route").status == 404)
        #expect(try await database.value("SELECT count(*) FROM events") == "0")
        #expect(try await HTTP.deliver("BookingCreate", to: server, as: "bookingcreate").status == 200)
        #expect(try await HTTP.deliver("BookingUpdate", to: server, as: "7").status == 200)
        await server.stop()
        #expect(try await database.rows("SELECT action, action_id FROM events ORDER BY seq") == [["BookingCreate", "6"], ["BookingUpdate", "7"]])
    }

    /// `--max-body-bytes`: a body at the limit is accepted, one byte over is 413 and not logged.
    @Test(arguments: Backend.all)
    func aBodyOverTheLimitIs413(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        let small = NexudusFixtures.body("CalendarEventCreate")
        let server = try await database.serve(["--max-body-bytes", "\(small.count)"])
        let over = try await HTTP.post(
            "\(server.baseURL)/webhooks/CoworkerCreate", body: Array(repeating: UInt8(ascii: " "), count: small.count + 1))
        #expect(over.status == 413, "\(over.body)")
        let large = try await HTTP.deliver("CoworkerCreate", to: server)
        #expect(large.status == 413, "\(large.body)")
        #expect(try await database.value("SELECT count(*) FROM events") == "0")
        let atLimit = try await HTTP.deliver("CalendarEventCreate", to: server)
        #expect(atLimit.status == 200, "\(atLimit.body)")
        await server.stop()
        #expect(try await database.value("SELECT count(*) FROM events") == "1")
    }

    /// A correctly signed body that cannot be decoded or folded is appended, answered 200 and
    /// quarantined with its reason; folding goes on with the next delivery.
    @Test(arguments: Backend.all)
    func aSignedUndecodableDeliveryIs200KeptAndQuarantined(backend: Backend) async throws {
        let database = try backend.makeDatabase()
        let server = try await database.serve()
        for body in ["{not json", #"[{"FullName":"no Id"}]"#] {
            let bytes = Array(body.utf8)
            let answer = try await HTTP.post(
                "\(server.baseURL)/webhooks/CoworkerCreate", body: bytes,
                headers: [("X-Nexudus-Hook-Signature", NexudusSignature.sign(body: bytes, secret: NexudusFixtures.secret))])
            #expect(answer.status == 200, "\(body): \(answer.body)")
            #expect(answer.json["duplicate"] as? Bool == false)
        }
        #expect(try await HTTP.deliver("CoworkerCreate", to: server).status == 200)
        try await database.waitUntilFolded()
        await server.stop()
        let quarantined = try await database.run(["events", "--quarantined", "--format", "csv"])
        #expect(quarantined.status == 0, "\(quarantined.stderr)")
        let lines = quarantined.output.split(separator: "\r\n").map(String.init)
        #expect(lines.count == 3, "\(quarantined.output)")
        #expect(lines.dropFirst().allSatisfy { $0.contains(",quarantined,") }, "\(quarantined.output)")
        #expect(try await database.value("SELECT count(*) FROM events WHERE status = 'quarantined' AND error <> ''") == "2")
        #expect(try await database.run(["events", "show", "1"]).stdout == Data("{not json".utf8))
        #expect(try await database.value("SELECT count(*) FROM coworkers") == "1")
    }
}
