import Foundation
import Logging
import NexMirrorCore
import NexMirrorStore
import Testing
@testable import NexMirrorSync

/// The batch form's pieces: reading an answer, cutting ids into URLs under 2,000 characters,
/// the check against single GETs, and the plan the estimate and `--dry-run` count from.
@Suite struct BatchTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func aBareArrayGivesEachRecordItsOwnExactBytes() throws {
        let body = #"[ {"Id":7,"Name":"A","Amount":0.090}, {"Id":"8" ,"Name":"B"},{"Name":"no id"} ]"#
        let page = try BatchPage(bytes(body))
        #expect(page.records.map(\.id) == [7, 8])
        #expect(page.records.map { String(decoding: $0.bytes, as: UTF8.self) } == [
            #"{"Id":7,"Name":"A","Amount":0.090}"#, #"{"Id":"8" ,"Name":"B"}"#,
        ])
        #expect(!page.hasMore)
    }

    @Test func aListEnvelopeIsReadTooWithItsPaging() throws {
        let body = #"{"Records":[{"Id":1,"X":"a"},{"Id":2,"X":"b"}],"CurrentPage":1,"TotalPages":2,"HasNextPage":true}"#
        let page = try BatchPage(bytes(body))
        #expect(page.records.map { String(decoding: $0.bytes, as: UTF8.self) } == [#"{"Id":1,"X":"a"}"#, #"{"Id":2,"X":"b"}"#])
        #expect(page.hasMore)
        #expect(throws: ListPage.Problem.self) { try BatchPage(bytes(#"{"Message":"The request is invalid."}"#)) }
        #expect(throws: ListPage.Problem.self) { try BatchPage(bytes("<html>")) }
    }

    @Test func batchURLsStayUnderTwoThousandCharacters() throws {
        let client = NexudusClient(
            baseURL: "https://spaces.nexudus.com/api/", credentials: nil, tokenFile: TokenFile(path: "/nonexistent"),
            pacer: RequestPacer(requestsPerMinute: 120), logger: Logger(label: "test"))
        let ids = (0..<5000).map { Int64(1_000_000_000) + Int64($0) * 7 }
        let batches = client.batches(ids, path: "billing/coworkerinvoices")
        #expect(batches.flatMap { $0 } == ids)
        for batch in batches {
            let url = "https://spaces.nexudus.com/api/billing/coworkerinvoices/?" + NexudusClient.batchQuery(batch) + "&page=2"
            #expect(url.utf8.count < NexudusClient.maximumURLLength)
        }
        // 10-digit ids: about 150 a request, as the issue's arithmetic has it.
        #expect((140...190).contains(batches[0].count), "\(batches[0].count)")
        // Short ids stop at the cap.
        #expect(client.batches((1...1000).map(Int64.init), path: "spaces/coworkers").map(\.count) == [200, 200, 200, 200, 200])
    }

    @Test func theCheckComparesValuesNotKeyOrderAndNamesOnlyKeys() {
        let full = bytes(#"{"Id":1,"Email":"a@example.com","Teams":[3]}"#)
        let reordered = bytes(#"{"Teams":[3],"Email":"a@example.com","Id":1}"#)
        let partial = bytes(#"{"Id":1}"#)
        #expect(BatchCheck.compare(singles: [1: full], batch: [1: reordered]) == .equal(keys: ["Id", "Email", "Teams"]))
        guard case .differs(let why) = BatchCheck.compare(singles: [1: full], batch: [1: partial]) else {
            Issue.record("a partial record passed the check")
            return
        }
        #expect(why.contains("2 keys missing: Email, Teams"))
        #expect(!why.contains("a@example.com"))
        let changed = bytes(#"{"Id":1,"Email":"b@example.com","Teams":[3]}"#)
        guard case .differs(let other) = BatchCheck.compare(singles: [1: full], batch: [1: changed]) else {
            Issue.record("a different value passed the check")
            return
        }
        #expect(other.contains("1 keys differ: Email") && !other.contains("example.com"))
        // Left out of the batch although GET …/{id} has it.
        #expect(BatchCheck.compare(singles: [1: full], batch: [:]) != .equal(keys: ["Id", "Email", "Teams"]))
        // Deleted meanwhile (404) and absent: nothing to compare yet.
        #expect(BatchCheck.compare(singles: [1: nil], batch: [:]) == .inconclusive)
        #expect(BatchCheck.isWhole(reordered, keys: ["Id", "Email"]))
        #expect(!BatchCheck.isWhole(partial, keys: ["Id", "Email"]))
    }

    @Test func thePlanBatchesUnlessTooFewOrRecentlyFailed() {
        let now = Timestamp(secondsSince1970: 2_000_000_000)
        let cut: ([Int64]) -> [[Int64]] = { ids in stride(from: 0, to: ids.count, by: 100).map { Array(ids[$0..<min($0 + 100, ids.count)]) } }
        let few = FetchPlan(ids: [1, 2, 3, 4], remembered: nil, now: now, batches: cut)
        #expect(few.method == .single(reason: nil))
        #expect(few.requests(ids: 4) == 4)
        let many = FetchPlan(ids: (1...250).map(Int64.init), remembered: nil, now: now, batches: cut)
        #expect(many.requests(ids: 250) == 3 + FetchPlan.sampleSize)
        let failed = FetchMode(form: .single, note: "the API refused the batch form (HTTP 400)", checkedAt: Timestamp(secondsSince1970: 2_000_000_000 - 3600))
        let remembered = FetchPlan(ids: (1...250).map(Int64.init), remembered: failed, now: now, batches: cut)
        guard case .single(let reason?) = remembered.method else {
            Issue.record("a failed check an hour ago was not remembered")
            return
        }
        #expect(reason.hasPrefix("the API refused the batch form (HTTP 400) (checked "))
        #expect(remembered.requests(ids: 250) == 250)
        let stale = FetchMode(form: .single, note: "x", checkedAt: Timestamp(secondsSince1970: 2_000_000_000 - 25 * 3600))
        #expect(FetchPlan(ids: (1...250).map(Int64.init), remembered: stale, now: now, batches: cut).requests(ids: 250) == 6)
        #expect(FetchPlan.sample(of: [1, 2, 3, 4, 5, 6, 7]) == [1, 4, 7])
    }
}
