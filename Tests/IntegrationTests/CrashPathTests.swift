import Foundation
import GRDB
import Testing

/// Damage that used to crash a command (a force-unwrap on what the database holds) is one line.
@Suite struct CrashPathTests {
    @Test func rebuildOfADatabaseMissingAReplicaTableIsOneLineNotACrash() async throws {
        let mirror = try await Mirror.fromFixtures()
        try await DatabaseQueue(path: mirror.path).write { db in try db.execute(sql: "DROP TABLE bookings") }
        let result = try await mirror.run(["rebuild"])
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("table bookings is missing"), "\(result.stderr)")
    }
}
