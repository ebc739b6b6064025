#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// libFuzzer's entry point, built by scripts/fuzz with the core's sources and the properties the
// test suite checks (Tests/NexMirrorCoreTests/FuzzProperties.swift). The surface to fuzz comes
// from NEXMIRROR_FUZZ_TARGET: json, delivery, timestamp or signature.

private let target: FuzzTarget = {
    guard let name = getenv("NEXMIRROR_FUZZ_TARGET").map({ String(cString: $0) }), let target = FuzzTarget(rawValue: name) else {
        fatalError("set NEXMIRROR_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        try target.check(bytes)
    } catch {
        fatalError("\(target): \(error)")
    }
    return 0
}
