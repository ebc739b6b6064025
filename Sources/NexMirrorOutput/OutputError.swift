/// Why output could not be written; each names the destination and the system's reason.
public enum OutputError: Error, CustomStringConvertible {
    /// Standard output or an open file refused bytes (a closed pipe, a full disk).
    case cannotWrite(reason: String)
    case missingDirectory(path: String, directory: String)
    case cannotWriteFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotWrite(let reason): "cannot write output: \(reason)"
        case .missingDirectory(let path, let directory): "cannot write \(path): directory \(directory) does not exist"
        case .cannotWriteFile(let path, let reason): "cannot write \(path): \(reason)"
        }
    }
}
