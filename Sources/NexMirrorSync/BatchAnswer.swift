import NexMirrorCore

/// The answer to `GET …/?id=[a,b,…]`, the batch form of `GET …/{id}`.
public enum BatchAnswer: Sendable {
    /// The records the answer holds, by id, each as its exact bytes within the answer (what the
    /// log keeps); ids asked for and not there are absent.
    case records([Int64: [UInt8]])
    /// A 4xx: this API (or this user) does not take the batch form for the kind.
    case refused(status: Int)
    /// Neither an array of records nor a list envelope.
    case unreadable(String)
}

/// One page of a batch answer: the documented bare array, or, from a server that reads `id` as
/// a list filter, the paging envelope with `Records`. Each record is kept as its own bytes.
struct BatchPage {
    let records: [(id: Int64, bytes: [UInt8])]
    let hasMore: Bool

    init(_ body: [UInt8]) throws(ListPage.Problem) {
        let parsed: (value: JSONValue, elementRanges: [Range<Int>])
        do {
            parsed = try JSONParser.parseTopLevel(body)
        } catch {
            throw ListPage.Problem(description: "the batch answer is not JSON")
        }
        var elements: [(JSONValue, Range<Int>)]
        switch parsed.value {
        case .array(let values):
            elements = Array(zip(values, parsed.elementRanges))
            hasMore = false
        case .object(let members):
            guard case .array(let values)? = members["Records"], let range = Self.recordsRange(body) else {
                throw ListPage.Problem(description: "the batch answer is a JSON object without Records")
            }
            let inner = (try? JSONParser.parseTopLevel(body[range]))?.elementRanges ?? []
            guard inner.count == values.count else {
                throw ListPage.Problem(description: "the batch answer's Records cannot be read")
            }
            elements = Array(zip(values, inner.map { ($0.lowerBound + range.lowerBound)..<($0.upperBound + range.lowerBound) }))
            let page = ListPage.integer(members["CurrentPage"] ?? .null) ?? 1
            if case .bool(let flag)? = members["HasNextPage"] {
                hasMore = flag
            } else if let pages = members["TotalPages"].flatMap(ListPage.integer) {
                hasMore = page < pages
            } else {
                hasMore = false
            }
        default:
            throw ListPage.Problem(description: "the batch answer is a JSON \(parsed.value.typeName), expected an array of records")
        }
        records = elements.compactMap { value, range in
            guard case .object(let members) = value, let id = members["Id"].flatMap(ListPage.integer) else { return nil }
            return (id, Array(body[range]))
        }
    }

    /// Byte range of the top-level object's `Records` value.
    private static func recordsRange(_ body: [UInt8]) -> Range<Int>? {
        let scan = body.withUnsafeBufferPointer { try? JSONParser.scan($0) }
        guard let members = scan?.firstElementMembers else { return nil }
        let key = Array("Records".utf8)
        return members.first { !$0.keyEscaped && Array(body[$0.key]) == key }?.value
    }
}
