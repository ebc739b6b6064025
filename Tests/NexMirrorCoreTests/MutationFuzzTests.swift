import Foundation
import NexudusFixtures
import Testing
@testable import NexMirrorCore

/// A short, deterministic fuzz run inside the test suite: mutated fixtures and hostile bodies
/// through the JSON scanner, DTO decoding, timestamp parsing and the signature check.
/// `NEXMIRROR_FUZZ_SEED` and `NEXMIRROR_FUZZ_ITERATIONS` replay or lengthen it;
/// `NEXMIRROR_FUZZ_SECONDS` (per target) and `NEXMIRROR_FUZZ_TARGETS` are for `scripts/fuzz --seeded`.
@Suite struct MutationFuzzTests {
    static let environment = ProcessInfo.processInfo.environment
    static let seed = environment["NEXMIRROR_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20_261_129
    static let iterations = environment["NEXMIRROR_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 3_000
    static let seconds = environment["NEXMIRROR_FUZZ_SECONDS"].flatMap { Double($0) }
    static let targets = environment["NEXMIRROR_FUZZ_TARGETS"].map { $0.split(separator: "|").map(String.init) }

    static let fixtures: [[UInt8]] = NexudusFixtures.names.map(NexudusFixtures.body)

    /// Stops at the first broken property and names what replays it.
    @discardableResult
    private func run(
        _ target: FuzzTarget, _ inputs: some Sequence<[UInt8]>, replay: String, until deadline: Date? = nil
    ) -> Int {
        var executed = 0
        for (index, input) in inputs.enumerated() {
            if let deadline, index % 256 == 0, Date() > deadline { break }
            executed += 1
            do {
                try target.check(input)
            } catch {
                Issue.record("""
                    \(target) input \(index) (\(replay)): \(error)
                    input (base64): \(Data(input).base64EncodedString())
                    """)
                return executed
            }
        }
        return executed
    }

    @Test(arguments: FuzzTarget.allCases)
    func mutatedInputsKeepEveryProperty(_ target: FuzzTarget) {
        if let targets = Self.targets, !targets.contains(target.rawValue) { return }
        // Each target gets its own stream, so adding one does not change the others' inputs.
        let seed = Self.seed &+ UInt64(FuzzTarget.allCases.firstIndex(of: target)!)
        var mutator = FuzzMutator(seed: seed, corpus: Self.fixtures + FuzzMutator.hostileSeeds)
        let count = Self.seconds == nil ? Self.iterations : Int.max
        let inputs = (0..<count).lazy.map { _ in mutator.next() }
        let started = Date()
        let executed = run(
            target, [AnySequence(Self.fixtures + FuzzMutator.hostileSeeds), AnySequence(inputs)].joined(),
            replay: "replay with NEXMIRROR_FUZZ_SEED=\(Self.seed) and NEXMIRROR_FUZZ_ITERATIONS above the input's index",
            until: Self.seconds.map { started.addingTimeInterval($0) })
        if Self.seconds != nil {
            print("fuzz: \(target): \(executed) inputs in \(Int(Date().timeIntervalSince(started))) s, seed \(Self.seed)")
        }
    }

    /// A bit flipped at every byte (bit = offset mod 8) and every truncation of every fixture:
    /// decoded for the fixture's action with its DTO an object, or rejected with a reason; never a
    /// crash. (The live server gets a sample of these, signed: SignedGarbageTests.)
    @Test func aBitFlipAtEveryByteAndEveryTruncationOfEveryFixtureDecodesOrIsRejected() throws {
        for (file, body) in zip(NexudusFixtures.names, Self.fixtures) {
            let action = try #require(ActionCatalog.action(named: NexudusFixtures.action(of: file)))
            let flips = body.indices.map { offset in
                var flipped = body
                flipped[offset] ^= 1 << UInt8(offset % 8)
                return flipped
            }
            let truncations = body.indices.map { Array(body.prefix($0)) }
            for (index, input) in (flips + truncations).enumerated() {
                guard let decoded = try? DeliveryBody.decode(input, for: action) else { continue }
                guard case .object? = try? JSONParser.parse(input[decoded.dtoRange]) else {
                    Issue.record("\(file) mutation \(index): decoded, but its DTO range is not an object")
                    return
                }
            }
        }
    }

    @Test func depthLimitIsNamedInTheReason() {
        let action = ActionCatalog.action(named: "CoworkerCreate")!
        let atLimit = "[{\"Id\":1,\"X\":" + String(repeating: "[", count: JSONParser.maxDepth - 2)
            + String(repeating: "]", count: JSONParser.maxDepth - 2) + "}]"
        #expect(throws: Never.self) { try DeliveryBody.decode(Array(atLimit.utf8), for: action) }
        let tooDeep = Array(repeating: UInt8(ascii: "["), count: 30_000) + Array(repeating: UInt8(ascii: "]"), count: 30_000)
        #expect(throws: DeliveryBody.Problem.notJSON(JSONSyntaxError(offset: 512, message: "nested deeper than 512 levels"))) {
            try DeliveryBody.decode(tooDeep, for: action)
        }
    }

    @Test func instantsOutsideYears1To9999AreNotTimestamps() {
        #expect(Timestamp(parsing: "0001-01-01T00:00:00+01:00") == nil)
        #expect(Timestamp(parsing: "0000-06-01") == nil)
        #expect(Timestamp(parsing: "9999-12-31T23:30:00-05:00") == nil)
        #expect(Timestamp(parsing: "0001-01-01T00:00:00Z")?.description == "0001-01-01T00:00:00.0000000Z")
        #expect(Timestamp(parsing: "9999-12-31T23:59:59.9999999Z")?.description == "9999-12-31T23:59:59.9999999Z")
    }

    @Test func anAmountTooLargeForADoubleIsAFieldError() throws {
        let body = Array(#"[{"Id":5,"TotalAmount":1e999999,"PaidAmount":-1e999999}]"#.utf8)
        let dto = try DeliveryBody.decode(body, for: ActionCatalog.action(named: "CoworkerInvoicePaid")!).dto
        #expect(throws: DTO.FieldError(field: "TotalAmount", expected: "a number", found: "number 1e999999")) {
            try dto.amount("TotalAmount")
        }
        #expect(throws: DTO.FieldError.self) { try dto.amount("PaidAmount") }
    }
}
