import Foundation

/// Reports progress of long work: a redrawn bar with rate and ETA on a terminal, plain log
/// lines (about every 10 %) otherwise, nothing when quiet. Writes to standard error so that
/// standard output stays clean for results.
public final class ProgressReporter: @unchecked Sendable {
    // @unchecked: mutable state is guarded by `lock`.
    public enum Style: Sendable { case bar, lines, quiet }

    public let style: Style
    private let lock = NSLock()
    private var task = ""
    private var total = 0
    private var start = Date()
    private var lastPrinted = -1
    private var finished = false

    /// `quiet` silences everything but `log`; otherwise a bar when standard error is a terminal.
    public init(quiet: Bool) {
        style = quiet ? .quiet : (isatty(STDERR_FILENO) != 0 ? .bar : .lines)
    }

    /// Starts a task of `total` units.
    public func begin(_ task: String, total: Int) {
        lock.withLock {
            self.task = task
            self.total = max(total, 1)
            start = Date()
            lastPrinted = -1
            finished = false
        }
        update(0)
    }

    /// Reports `done` of the task's units finished.
    public func update(_ done: Int) {
        lock.withLock {
            if finished { return }
            if done >= total { finished = true }
            let elapsed = Date().timeIntervalSince(start)
            let rate = elapsed > 0 ? Double(done) / elapsed : 0
            let remaining = rate > 0 ? Double(total - done) / rate : 0
            let percent = 100 * done / total
            switch style {
            case .quiet:
                return
            case .bar:
                let width = 30, filled = width * done / total
                let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
                let line = String(format: "\r%@ %@ %3d%% %d/%d  %.1f/s  ETA %@", task, bar, percent, done, total, rate, Self.duration(remaining))
                FileHandle.standardError.write(Data(line.utf8))
                if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
            case .lines:
                let decile = percent / 10
                guard decile != lastPrinted || done >= total else { return }
                lastPrinted = decile
                let line = String(format: "%@: %d/%d (%d%%), %.1f/s, ETA %@\n", task, done, total, percent, rate, Self.duration(remaining))
                FileHandle.standardError.write(Data(line.utf8))
            }
        }
    }

    /// A log line (standard error), unless quiet.
    public func log(_ message: String) {
        guard style != .quiet else { return }
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let total = Int(seconds.rounded())
        return total >= 3600 ? String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
            : String(format: "%02d:%02d", total / 60, total % 60)
    }
}
