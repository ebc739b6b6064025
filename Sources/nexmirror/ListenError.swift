import Foundation
import NIOCore

/// A listener that cannot bind is a user's mistake (port taken, no permission, wrong address):
/// say so in one line naming the address, instead of NIO's `bind(descriptor:ptr:bytes:)` text.
enum ListenError: Error, CustomStringConvertible {
    case cannotListen(addresses: [String], reason: String)

    var description: String {
        switch self {
        case .cannotListen(let addresses, let reason):
            "cannot listen on \(addresses.joined(separator: " or ")): \(reason)"
        }
    }

    /// The bind failure explained, or `error` itself when it is something else.
    static func explain(_ error: any Error, addresses: [String]) -> any Error {
        guard let io = error as? IOError, io.description.hasPrefix("bind(") else { return error }
        let reason =
            switch io.errnoCode {
            case EADDRINUSE: "the port is already in use (another nexmirror serve?)"
            case EACCES: "permission denied (ports below 1024 need privileges)"
            case EADDRNOTAVAIL: "this machine has no such address"
            default: String(cString: strerror(io.errnoCode))
            }
        return ListenError.cannotListen(addresses: addresses, reason: reason)
    }
}
