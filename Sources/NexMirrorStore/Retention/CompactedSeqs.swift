/// The seqs removed by `compact`, as ranges of consecutive seqs (`compacted_seqs`), so `check`
/// tells a compacted seq from a missing one.
public struct CompactedSeqs: Sendable, Equatable {
    /// Disjoint, ascending, adjacent ranges merged.
    public private(set) var ranges: [ClosedRange<Int64>] = []

    public init(_ ranges: [ClosedRange<Int64>] = []) {
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = self.ranges.last, range.lowerBound <= last.upperBound + 1 {
                self.ranges[self.ranges.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                self.ranges.append(range)
            }
        }
    }

    /// Runs of consecutive seqs in `seqs` (ascending), the rows `compacted_seqs` records.
    public static func runs(of seqs: [Int64]) -> [ClosedRange<Int64>] {
        var runs: [ClosedRange<Int64>] = []
        for seq in seqs {
            if let last = runs.last, seq == last.upperBound + 1 {
                runs[runs.count - 1] = last.lowerBound...seq
            } else {
                runs.append(seq...seq)
            }
        }
        return runs
    }

    /// Whether every seq of `hole` was removed by a compaction.
    public func covers(_ hole: ClosedRange<Int64>) -> Bool {
        var low = 0, high = ranges.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let range = ranges[middle]
            if range.upperBound < hole.lowerBound {
                low = middle + 1
            } else if range.lowerBound > hole.lowerBound {
                high = middle - 1
            } else {
                return range.upperBound >= hole.upperBound
            }
        }
        return false
    }

    /// How many seqs the ranges hold.
    public var count: Int { ranges.reduce(0) { $0 + Int($1.upperBound - $1.lowerBound + 1) } }
}
