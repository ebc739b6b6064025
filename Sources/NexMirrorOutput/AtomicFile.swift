import Foundation

/// A file that appears complete or not at all: written beside its destination under a temporary
/// name, synced, then renamed over it.
public struct AtomicFile {
    public let path: String
    public let temporaryPath: String
    public let descriptor: Int32

    public init(replacing path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw OutputError.missingDirectory(path: path, directory: directory)
        }
        self.path = path
        temporaryPath = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp").path
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw OutputError.cannotWriteFile(path: path, reason: String(cString: strerror(errno)))
        }
    }

    public func commit() throws {
        defer { close(descriptor) }
        guard fsync(descriptor) == 0, rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw OutputError.cannotWriteFile(path: path, reason: reason)
        }
    }

    public func discard() {
        close(descriptor)
        unlink(temporaryPath)
    }
}
