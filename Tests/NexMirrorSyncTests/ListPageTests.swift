import Testing
import NexMirrorCore
@testable import NexMirrorSync

/// The list envelope as documented in its several versions (REST-API.md §3): the client reads
/// what the server did, not what it asked for.
@Suite struct ListPageTests {
    private func page(_ json: String) throws -> ListPage { try ListPage(Array(json.utf8)) }

    @Test func readsThePageSizeTheServerUsedAndHasNextPage() throws {
        let list = try page(#"{"Records":[{"Id":1,"UpdatedOn":"2025-01-01T10:00:00Z"},{"Id":2,"UpdatedOn":"2025-01-01T10:00"}],"CurrentPage":1,"CurrentPageSize":2,"TotalItems":5,"TotalPages":3,"HasNextPage":true}"#)
        #expect(list.pageSize == 2)
        #expect(list.entries.map(\.id) == [1, 2])
        #expect(list.hasMore(after: 1, askedSize: 1000))
    }

    @Test func acceptsDatesWithOrWithoutSecondsFractionsAndZone() throws {
        let list = try page(#"{"Records":[{"Id":1,"UpdatedOn":"2025-01-01T10:00"},{"Id":2,"UpdatedOn":"2025-01-01T10:00:00.1234567"},{"Id":3,"UpdatedOn":"2025-01-01T11:00:00+01:00"},{"Id":4,"UpdatedOn":null}]}"#)
        #expect(list.entries.map { $0.updatedOn?.description } == [
            "2025-01-01T10:00:00.0000000Z", "2025-01-01T10:00:00.1234567Z", "2025-01-01T10:00:00.0000000Z", nil,
        ])
    }

    @Test func withoutHasNextPageTotalPagesDecides() throws {
        let list = try page(#"{"Records":[{"Id":1}],"PageNumber":2,"PageSize":1,"TotalPages":2}"#)
        #expect(list.currentPage == 2 && list.pageSize == 1)
        #expect(!list.hasMore(after: 2, askedSize: 1))
    }

    @Test func withoutPagingFieldsAFullPageAsksForAnother() throws {
        #expect(try page(#"[{"Id":1},{"Id":2}]"#).hasMore(after: 1, askedSize: 2))
        #expect(try !page(#"[{"Id":1}]"#).hasMore(after: 1, askedSize: 2))
    }

    @Test func anEmptyPageEndsTheListWhateverHasNextPageSays() throws {
        #expect(try !page(#"{"Records":[],"HasNextPage":true}"#).hasMore(after: 3, askedSize: 1000))
    }

    @Test func aBodyWithoutRecordsIsOneClearProblem() {
        #expect(throws: ListPage.Problem.self) { try page(#"{"Message":"An error has occurred."}"#) }
        #expect(throws: ListPage.Problem.self) { try page("<html>") }
    }
}

/// What sync fetches: what the replica lacks or holds older than the list says (SPEC §7).
@Suite struct FetchDecisionTests {
    static let listed = Timestamp(parsing: "2025-06-01T00:00:00Z")

    @Test func anIdTheReplicaLacksIsNew() {
        #expect(Reconciler.compare(listed: Self.listed, row: nil, tombstone: nil) == .fetch(isNew: true))
    }

    @Test func aNewerListedVersionIsFetchedAnEqualOrOlderOneIsNot() {
        #expect(Reconciler.compare(listed: Self.listed, row: .some("2025-05-01T00:00:00.0000000Z"), tombstone: nil) == .fetch(isNew: false))
        #expect(Reconciler.compare(listed: Self.listed, row: .some("2025-06-01T00:00:00.0000000Z"), tombstone: nil) == .unchanged)
        #expect(Reconciler.compare(listed: Self.listed, row: .some("2025-07-01T00:00:00.0000000Z"), tombstone: nil) == .unchanged)
    }

    @Test func aFinalTombstoneIsNeverFetchedAgainAnOlderOneIs() {
        #expect(Reconciler.compare(listed: Self.listed, row: nil, tombstone: .some(nil)) == .unchanged)
        #expect(Reconciler.compare(listed: Self.listed, row: nil, tombstone: .some("2025-01-01T00:00:00.0000000Z")) == .fetch(isNew: false))
    }

    @Test func aListRecordWithoutUpdatedOnIsFetchedOnlyWhenMissing() {
        #expect(Reconciler.compare(listed: nil, row: nil, tombstone: nil) == .fetch(isNew: true))
        #expect(Reconciler.compare(listed: nil, row: .some(nil), tombstone: nil) == .unchanged)
    }
}

@Suite struct PolitenessSettingsTests {
    @Test func thePaceNeverExceedsTenASecond() async {
        #expect(await RequestPacer(requestsPerMinute: 120).interval == .milliseconds(500))
        #expect(await RequestPacer(requestsPerMinute: 6000).interval == .milliseconds(100))
    }

    @Test func retryAfterIsReadAsSecondsOrAnHTTPDate() {
        #expect(NexudusClient.parseRetryAfter("1") == .seconds(1))
        #expect(NexudusClient.parseRetryAfter("2.5") == .milliseconds(2500))
        #expect(NexudusClient.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == .zero)
        #expect(NexudusClient.parseRetryAfter("soon") == nil)
    }
}
