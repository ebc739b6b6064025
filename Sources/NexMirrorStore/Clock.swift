import Foundation
import NexMirrorCore
import NexMirrorProjections

extension Timestamp {
    public static var now: Timestamp { Timestamp(secondsSince1970: Date().timeIntervalSince1970) }
}

enum ProjectionNames {
    static var all: [String] { Projections.all.map(\.name) }
}
