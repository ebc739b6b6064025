import NexMirrorCore
import NexMirrorStore

/// How one kind's full records are fetched in a run (SPEC §7), and what that costs in requests:
/// the estimate before the fetch, the progress bar and `--dry-run` all count from here.
///
/// Batches (`GET …/?id=[a,b,…]`) when there are enough records for them to save requests, unless
/// a check of the batch form failed less than `recheckAfter` ago; then one `GET …/{id}` each. A
/// run that batches checks the form again on its first batch (`BatchCheck`), which costs the
/// sample's single GETs: `sampleSize` requests.
struct FetchPlan: Sendable {
    /// Ids of the first batch also fetched singly, to compare.
    static let sampleSize = 3
    /// A failed check is trusted this long; then the batch form is tried again.
    static let recheckAfter = 24.0 * 3600

    enum Method: Sendable, Equatable {
        /// One request per id; `reason` says why when it is the batch form's fault.
        case single(reason: String?)
        case batch([[Int64]])
    }

    let method: Method

    init(ids: [Int64], remembered: FetchMode?, now: Timestamp, batches: ([Int64]) -> [[Int64]]) {
        if ids.count <= Self.sampleSize + 1 {
            // The check alone would cost as much as fetching them one by one.
            method = .single(reason: nil)
        } else if let remembered, remembered.form == .single,
                  now.secondsSince1970 - remembered.checkedAt.secondsSince1970 < Self.recheckAfter {
            method = .single(reason: (remembered.note ?? "the batch form failed its check")
                + " (checked \(remembered.checkedAt); again after 24 h)")
        } else {
            method = .batch(batches(ids))
        }
    }

    /// Requests the fetch takes if every batch answer holds every id asked for.
    func requests(ids: Int) -> Int {
        switch method {
        case .single: ids
        case .batch(let batches): batches.count + Self.sampleSize
        }
    }

    /// The ids of `batch` fetched singly for the check: its first, middle and last.
    static func sample(of batch: [Int64]) -> [Int64] {
        guard batch.count > sampleSize else { return batch }
        return [batch[0], batch[batch.count / 2], batch[batch.count - 1]]
    }
}

/// The check of a batch answer against single GETs of the same ids: the same JSON values, key
/// order aside. What passes also gives the keys every full record has, which each later batch
/// record must have too, so a partial record never reaches the log.
enum BatchCheck: Equatable {
    case equal(keys: Set<String>)
    case differs(String)
    /// No sampled id was there to compare (all deleted meanwhile): check the next batch.
    case inconclusive

    static func compare(singles: [Int64: [UInt8]?], batch: [Int64: [UInt8]]) -> BatchCheck {
        var keys: Set<String>?
        var compared = 0
        for (id, single) in singles.sorted(by: { $0.key < $1.key }) {
            guard let single else { continue }  // 404: deleted since it was listed
            guard let record = batch[id] else {
                return .differs("the batch answer left out records that GET …/{id} returns")
            }
            guard case .object(let full)? = try? JSONParser.parse(single) else {
                return .differs("GET …/{id} answered something other than a record")
            }
            guard case .object(let batched)? = try? JSONParser.parse(record), batched == full else {
                return .differs("the batch answer's records differ from GET …/{id}'s" + Self.keysNamed(full, record))
            }
            compared += 1
            keys = keys.map { $0.intersection(full.keys) } ?? Set(full.keys)
        }
        guard compared > 0, let keys else { return .inconclusive }
        return .equal(keys: keys)
    }

    /// Whether a batch record holds every key of the checked full records.
    static func isWhole(_ record: [UInt8], keys: Set<String>) -> Bool {
        guard case .object(let members)? = try? JSONParser.parse(record) else { return false }
        return keys.allSatisfy { members[$0] != nil }
    }

    /// Up to three keys missing or different (names only: values may be personal data).
    private static func keysNamed(_ full: [String: JSONValue], _ record: [UInt8]) -> String {
        guard case .object(let batched)? = try? JSONParser.parse(record) else { return " (not a JSON object)" }
        let missing = full.keys.filter { batched[$0] == nil }.sorted()
        if !missing.isEmpty {
            return " (\(missing.count) keys missing: \(missing.prefix(3).joined(separator: ", "))\(missing.count > 3 ? ", …" : ""))"
        }
        let different = full.keys.filter { batched[$0] != full[$0] }.sorted()
            + batched.keys.filter { full[$0] == nil }.sorted()
        return " (\(different.count) keys differ: \(different.prefix(3).joined(separator: ", "))\(different.count > 3 ? ", …" : ""))"
    }
}
