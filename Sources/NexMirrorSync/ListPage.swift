import NexMirrorCore

/// A page of a Nexudus list: the envelope's paging fields and, per record, what decides whether
/// to fetch it in full (`Id`, `UpdatedOn`). List records are partial and are never stored.
public struct ListPage: Sendable {
    public struct Entry: Sendable {
        public let id: Int64
        public let updatedOn: Timestamp?
    }

    public let entries: [Entry]
    /// Every record of the page as parsed, for lists read whole (webhooks, businesses).
    public let records: [[String: JSONValue]]
    public let currentPage: Int?
    /// The size the server used, which may be below the size asked for.
    public let pageSize: Int?
    public let totalItems: Int?
    public let totalPages: Int?
    public let hasNextPage: Bool?

    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ body: [UInt8]) throws(Problem) {
        guard let value = try? JSONParser.parse(body) else { throw Problem(description: "the list answer is not JSON") }
        let list: [JSONValue]
        var envelope: [String: JSONValue] = [:]
        switch value {
        case .object(let members):
            guard case .array(let records)? = members["Records"] else {
                throw Problem(description: "the list answer has no Records array")
            }
            list = records
            envelope = members
        case .array(let records):
            // A bare array: one page holding everything.
            list = records
        default:
            throw Problem(description: "the list answer is a JSON \(value.typeName), expected an object with Records")
        }
        var entries: [Entry] = []
        var records: [[String: JSONValue]] = []
        for element in list {
            guard case .object(let members) = element else { continue }
            records.append(members)
            guard let id = members["Id"].flatMap(Self.integer) else { continue }
            let updatedOn = members["UpdatedOn"].flatMap { value -> Timestamp? in
                if case .string(let text) = value { return Timestamp(parsing: text) }
                return nil
            }
            entries.append(Entry(id: id, updatedOn: updatedOn))
        }
        self.entries = entries
        self.records = records
        currentPage = envelope["CurrentPage"].flatMap(Self.integer).map(Int.init)
            ?? envelope["PageNumber"].flatMap(Self.integer).map(Int.init)
        pageSize = envelope["CurrentPageSize"].flatMap(Self.integer).map(Int.init)
            ?? envelope["PageSize"].flatMap(Self.integer).map(Int.init)
        totalItems = envelope["TotalItems"].flatMap(Self.integer).map(Int.init)
        totalPages = envelope["TotalPages"].flatMap(Self.integer).map(Int.init)
        if case .bool(let flag)? = envelope["HasNextPage"] { hasNextPage = flag } else { hasNextPage = nil }
    }

    /// Whether another page follows page `page`: `HasNextPage` when sent, else `TotalPages`,
    /// else whether this page came back full. An empty page always ends the list.
    public func hasMore(after page: Int, askedSize: Int) -> Bool {
        if records.isEmpty { return false }
        if let hasNextPage { return hasNextPage }
        if let totalPages { return (currentPage ?? page) < totalPages }
        return records.count >= (pageSize ?? askedSize)
    }

    static func integer(_ value: JSONValue) -> Int64? {
        switch value {
        case .number(let text): Int64(text)
        case .string(let text): Int64(text)
        default: nil
        }
    }
}
