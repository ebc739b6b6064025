import NexMirrorProjections

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

    /// The greatest seq `logged` has seen; the log starts at 1, so a missing first delivery is a
    /// hole too.
    private var previousSeq: Int64 = 0

    package init() {}

    /// Counts one delivery of the log read in `seq` order, with the findings of its seq: a hole
    /// before it (but where `compact` removed those seqs), or a seq below 1 or above the highest
    /// ever assigned, either of which means the log was renumbered.
    package mutating func logged(seq: Int64, highestAssigned: Int64, compacted: CompactedSeqs) {
        hole(after: previousSeq, at: seq, read: events, compacted: compacted)
        if seq < 1 {
            findings.append(CheckFinding(area: "events", message: "seq \(seq) is below 1, where the log starts: it was renumbered"))
        }
        if seq > highestAssigned {
            findings.append(CheckFinding(
                area: "events", message: "seq \(seq) is above the highest seq ever assigned (\(highestAssigned)): it was renumbered"))
        }
        previousSeq = max(previousSeq, seq)
        events += 1
    }

    /// Each projection's checkpoint, in name order (`projections` names the table, qualified
    /// where a copy of it could shadow it).
    package static func checkpointStatement(projections: String = "projections") -> SQLStatement {
        SQLStatement("SELECT name, checkpoint FROM \(projections) ORDER BY name")
    }

    /// The checkpoints `checkpointStatement` read, each a finding when it is past the highest seq
    /// ever assigned: that projection folded deliveries the log does not hold.
    package mutating func checkpoints(_ rows: [[Cell]], highestAssigned: Int64) -> [String: Int64] {
        var checkpoints: [String: Int64] = [:]
        for row in rows {
            guard let name = row[0].textValue, let checkpoint = row[1].int64Value else { continue }
            checkpoints[name] = checkpoint
            if checkpoint > highestAssigned {
                findings.append(CheckFinding(
                    area: "projections",
                    message: "\(name)'s checkpoint \(checkpoint) is above the last seq of the log (\(highestAssigned))"))
            }
        }
        return checkpoints
    }

    /// Deliveries of `log` after each projection's checkpoint, in `Projections.all` order:
    /// counted, not subtracted, so a renumbered seq cannot pass for thousands of deliveries.
    package static func lagStatements(log: String, checkpoints: [String: Int64], dialect: SQLDialect) -> [SQLStatement] {
        Projections.all.map { projection in
            SQLStatement(
                "SELECT count(*) FROM \(log) WHERE seq > \(dialect.parameter(1))",
                [.integer(checkpoints[projection.name] ?? 0)])
        }
    }

    /// The lag the rows of `lagStatements` count.
    package mutating func lag(_ rows: [[[Cell]]]) {
        lag = zip(Projections.all, rows).map { projection, rows in
            (projection: projection.name, deliveries: rows.first?.first?.intValue ?? 0)
        }
    }

    /// A replica table compared with its fresh fold (`comparison`'s rows): its findings, and its rows counted.
    package mutating func compared(_ comparison: ReplicaComparison, _ rows: [[[Cell]]], keysShown: Int) {
        findings += comparison.findings(rows, keysShown: keysShown)
        rowsCompared += comparison.rowCount(rows)
        tablesCompared += 1
    }

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
