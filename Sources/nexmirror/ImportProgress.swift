import Foundation

/// What `import` shows on a terminal while it reads: deliveries read and appended, the rate,
/// and the time left, estimated from how much of the files' bytes has been read (a delivery's
/// size varies too much for counts to predict anything). Nothing when standard error is not a
/// terminal, so piped output holds only the summary.
final class ImportProgress {
    private let bar: ProgressBar
    /// Sum of the files' sizes; nil when one of them has none (standard input, a pipe).
    private let totalBytes: Int?
    private var bytesOfFinishedFiles = 0
    private let started = Date()
    private(set) var read = 0
    private(set) var appended = 0

    init(files: [String], enabled: Bool) {
        bar = ProgressBar(enabled: enabled)
        var total = 0
        var known = true
        for file in files {
            var info = stat()
            if file != "-", stat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
                total += Int(info.st_size)
            } else {
                known = false
            }
        }
        totalBytes = known ? total : nil
    }

    /// One delivery read, `position` bytes into the current file; `appended` of them new so far.
    func delivery(at position: Int, appendedNow: Int) {
        read += 1
        appended += appendedNow
        draw(bytesDone: bytesOfFinishedFiles + position)
    }

    /// Deliveries committed by a batch flushed outside `delivery(at:appendedNow:)`.
    func appended(_ count: Int) { appended += count }

    func fileDone(_ file: String) {
        var info = stat()
        if file != "-", stat(file, &info) == 0 { bytesOfFinishedFiles += Int(info.st_size) }
    }

    private func draw(bytesDone: Int) {
        bar.update(fraction: totalBytes.map { $0 > 0 ? Double(bytesDone) / Double($0) : 1 }, detail: {
            let elapsed = Date().timeIntervalSince(self.started)
            var text = "\(self.read) read, \(self.appended) appended, \(ProgressBar.rate(elapsed > 0 ? Double(self.read) / elapsed : 0))"
            if let total = self.totalBytes, bytesDone > 0 {
                let left = elapsed * Double(total - bytesDone) / Double(bytesDone)
                text += ", ETA \(ProgressBar.clock(left))"
            }
            return text
        }())
    }

    /// A bar for folding what was imported: `done` of `total` deliveries.
    func folding(done: Int, total: Int) {
        bar.update(fraction: total > 0 ? Double(done) / Double(total) : 1, detail: "folding \(done)/\(total) deliveries")
    }

    func finish() { bar.finish() }
}
