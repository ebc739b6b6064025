/// Polls `condition` every 20 ms until it holds or `seconds` pass; returns whether it held. Tests
/// wait this way, never by a fixed sleep: as long as needed on a loaded machine, no longer.
@discardableResult
public func eventually(within seconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
