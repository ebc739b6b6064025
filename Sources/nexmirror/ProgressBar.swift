import Foundation

/// A one-line progress bar on standard error, drawn only on a terminal (`rebuild`, `import`),
/// at most ten times a second so that drawing never costs more than the work it shows.
final class ProgressBar {
    private let enabled: Bool
    /// Starts now: work that ends within a tenth of a second draws nothing but its last state.
    private var lastDrawn = Date()

    init(enabled: Bool) { self.enabled = enabled }

    /// `done` of `total` events.
    func update(done: Int, total: Int) {
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        update(fraction: fraction, detail: "\(done)/\(total) events", final: done >= total)
    }

    /// A bar filled to `fraction` (0…1; nil when the total is unknown) followed by `detail`.
    func update(fraction: Double?, detail: @autoclosure () -> String, final: Bool = false) {
        guard enabled, final || Date().timeIntervalSince(lastDrawn) > 0.1 else { return }
        lastDrawn = Date()
        let width = 30
        let line: String
        if let fraction {
            let filled = Int(min(1, max(0, fraction)) * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            line = String(format: "[%@] %3.0f%%  ", bar, min(1, max(0, fraction)) * 100) + detail()
        } else {
            line = detail()
        }
        // Cleared to the end of the line: a shorter line must not leave the previous one's tail.
        Terminal.write(toStandardError: "\r" + line + "\u{1B}[K")
    }

    func finish() {
        if enabled { Terminal.write(toStandardError: "\r\u{1B}[K") }
    }

    /// `0:42`, `12:05`, `1:02:03`: a duration as a terminal line shows it.
    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let total = Int(seconds.rounded())
        let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
        return hours > 0
            ? String(format: "%d:%02d:%02d", hours, minutes, secs) : String(format: "%d:%02d", minutes, secs)
    }

    /// `950/s`, `12.3k/s`.
    static func rate(_ perSecond: Double) -> String {
        perSecond >= 1000 ? String(format: "%.1fk/s", perSecond / 1000) : String(format: "%.0f/s", perSecond)
    }
}
