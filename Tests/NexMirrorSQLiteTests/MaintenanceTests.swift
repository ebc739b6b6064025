import Foundation
import NexMirrorStore
import Testing
@testable import NexMirrorSQLite

@Suite struct MaintenanceTests {
    @Test func aBackupIsAWorkingCopyThatChecksClean() async throws {
        let temporary = try TemporaryStore()
        try await temporary.append(["CoworkerCreate", "BookingCreate"].map(StoreFixtures.delivery))
        try await temporary.foldAll()
        let live: any StoreMaintenance = try SQLiteReader(path: temporary.store.path)
        let file = temporary.directory.appendingPathComponent("copy.sqlite").path
        let summary = try await live.backup(to: file)
        #expect(summary.events == 2)
        #expect(summary.bytes > 0)
        let permissions = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(permissions == 0o600)

        let copy: any StoreMaintenance = try SQLiteReader(path: file)
        let report = try await copy.check(progress: nil)
        #expect(report.findings.isEmpty)
        #expect(report.events == 2)
    }

    @Test func theDatabaseIsNeverItsOwnBackup() async throws {
        let temporary = try TemporaryStore()
        let live: any StoreMaintenance = try SQLiteReader(path: temporary.store.path)
        await #expect(throws: BackupError.copyIsTheDatabase) { try await live.backup(to: temporary.store.path) }
    }
}
