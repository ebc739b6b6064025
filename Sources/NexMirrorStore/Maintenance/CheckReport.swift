/// One thing `nexmirror check` found wrong, printed as one line: `area: what`.
public struct CheckFinding: Sendable, CustomStringConvertible {
    /// `integrity`, `events`, or the replica table concerned.
    public let area: String
    public let message: String
    public var description: String { "\(area): \(message)" }

    public init(area: String, message: String) {
        self.area = area
        self.message = message
    }

    /// A body that does not hash to what the log says it should: its `body_sha256`, or for a
    /// body rewritten by an erasure, the hash its erasure record holds.
    public static func bodyHash(seq: Int64, stored: String, erased: String?, actual: String) -> CheckFinding? {
        let expected = erased ?? stored
        guard expected != actual else { return nil }
        let source = erased == nil ? "its body_sha256" : "its erasure record"
        return CheckFinding(
            area: "events",
            message: "seq \(seq): body does not match \(source) (stored \(expected.prefix(12))…, "
                + "the body hashes to \(actual.prefix(12))…): the body or its hash was changed")
    }

    /// The findings of a replica table compared with a fresh fold of the log, by row key (a
    /// few keys shown, the rest counted); the same lines on every backend.
    public static func replicaDifferences(
        table: String, missing: [String], extra: [String], different: [String], keysShown: Int
    ) -> [CheckFinding] {
        [
            (missing, "missing from the replica but in a fresh fold of the log"),
            (extra, "in the replica but not in a fresh fold of the log"),
            (different, "different from a fresh fold of the log"),
        ].compactMap { found, what in
            guard !found.isEmpty else { return nil }
            let shown = found.prefix(keysShown).joined(separator: ", ")
            let more = found.count > keysShown ? ", …" : ""
            return CheckFinding(area: table, message: "\(found.count) \(found.count == 1 ? "row" : "rows") \(what) (\(shown)\(more))")
        }
    }
}

/// What `check` found, and what it saw that is not a finding.
public struct CheckReport: Sendable {
    public package(set) var findings: [CheckFinding] = []
    public package(set) var events = 0
    /// Deliveries rewritten by an erasure, verified against their erasure records: not findings.
    public package(set) var erased = 0
    /// Deliveries logged but not yet folded, per projection: lag, not damage.
    public package(set) var lag: [(projection: String, deliveries: Int)] = []
    /// Seqs removed by `compact` (as `compacted_seqs` records): holes, but not findings.
    public package(set) var compacted = 0
    public package(set) var tablesCompared = 0
    public package(set) var rowsCompared = 0

    package init() {}

    /// The finding for a hole in `seq` (`previous` then `seq`, more than one apart), unless
    /// `compact` removed exactly those seqs; `read` is how many deliveries came before.
    package mutating func hole(after previous: Int64, at seq: Int64, read: Int, compacted: CompactedSeqs) {
        guard seq > previous + 1 else { return }
        if compacted.covers((previous + 1)...(seq - 1)) { return }
        let missing = seq - previous == 2 ? "seq \(previous + 1) is missing" : "seq \(previous + 1)…\(seq - 1) are missing"
        let context = read == 0 ? "the log starts at \(seq)" : "the log skips from \(previous) to \(seq)"
        findings.append(CheckFinding(area: "events", message: "\(missing): \(context)"))
    }
}
