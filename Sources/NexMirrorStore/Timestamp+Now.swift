import Foundation
import NexMirrorCore

extension Timestamp {
    /// The current instant; the core has no clock of its own (no I/O).
    public static var now: Timestamp { Timestamp(secondsSince1970: Date().timeIntervalSince1970) }
}
