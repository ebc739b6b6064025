import Foundation
import NexMirrorCore
import NexudusFixtures
import Testing

/// `forget` while `serve` ingests, on both backends (SPEC §10): no acknowledged delivery is lost
/// or folded twice, and no delivery naming the subject keeps its data, whether it was logged
/// before the erasure (rewritten) or after (written erased).
@Suite struct ForgetContractTests {
    static let connections = 64
    static let perConnection = 15

    /// A booking naming Ren, unique per (connection, index).
    static func booking(_ connection: Int, _ index: Int) -> [UInt8] {
        let id = 1_500_000_000 + connection * 1000 + index
        return Array("""
            [{"ResourceId":1414925000,"ResourceName":"Small meeting room (120)","CoworkerId":1419000582,\
            "CoworkerFullName":"Ren Kowalski","FromTime":"2026-04-14T15:30:00Z","ToTime":"2026-04-14T17:00:00Z",\
            "Notes":"call +44 7700 934121","Id":\(id),"UpdatedOn":"2026-04-01T08:00:00Z","UpdatedBy":"admin@space.example"}]
            """.utf8)
    }

    @Test(arguments: Backend.all)
    func aForgetRacingWithSixtyFourIngestConnectionsLosesNothing(_ backend: Backend) async throws {
        let database = try backend.makeDatabase()
        let lines = String(decoding: try NexudusFixtures.importLines(), as: UTF8.self).split(separator: "\n").map(String.init)
        try await database.importLines(lines)
        let server = try await database.serve()
        let baseURL = server.baseURL, db = database.db

        let acknowledged = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for connection in 0..<Self.connections {
                group.addTask {
                    var seqs: [Int64] = []
                    for index in 0..<Self.perConnection {
                        let body = Self.booking(connection, index)
                        let signature = NexudusSignature.sign(body: body, secret: NexudusFixtures.secret)
                        // Nexudus retries until it gets a 2xx; a 503 during the erasure is a retry.
                        for _ in 0..<50 {
                            let answer = try await HTTP.post(
                                "\(baseURL)/webhooks/BookingCreate", body: body,
                                headers: [("X-Nexudus-Hook-Signature", signature)])
                            if answer.status == 200, let seq = answer.json["seq"] as? Int {
                                seqs.append(Int64(seq))
                                break
                            }
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }
                    return seqs
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(300))
                let forget = try await CLI.run(["forget", "coworker", String(NexudusFixtures.renId), "--db", db])
                #expect(forget.status == 0, "\(backend): \(forget.stderr)")
                return []
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(acknowledged.count == Self.connections * Self.perConnection, "\(backend): every delivery acknowledged")
        #expect(Set(acknowledged).count == acknowledged.count, "\(backend): one seq per delivery")
        try await database.waitUntilFolded()
        let logged = try await database.value("SELECT count(*) FROM events WHERE entity_type = 'Booking' AND entity_id >= 1500000000")
        #expect(logged == String(acknowledged.count), "\(backend): each acknowledged delivery logged once")
        let named = try await database.value(
            "SELECT count(*) FROM bookings WHERE coworker_id = 1419000582 AND id >= 1500000000")
        #expect(named == String(acknowledged.count), "\(backend): each folded once")
        let leaked = try await database.value(
            "SELECT count(*) FROM bookings WHERE data LIKE '%Kowalski%' OR data LIKE '%934121%'")
        #expect(leaked == "0", "\(backend): no booking keeps the subject's name or phone")
        let check = try await database.run(["check"])
        #expect(check.status == 0, "\(backend): \(check.output)")
        #expect(await server.stop() == 0)
    }
}
