import Foundation

/// Progress of one file's transfer as lines of text: size received, percentage, rate and
/// estimated time left. On a terminal the line is redrawn in place a few times a second;
/// otherwise (a log file, a batch job) a line is written every `quietInterval` seconds.
final class TransferProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let file: String
    private let total: Int64?
    private let startBytes: Int64
    private let start: Date
    private let interactive: Bool
    private let write: @Sendable (String) -> Void
    private var lastReport: Date
    private var current: Int64

    /// Interval between lines when not drawing on a terminal.
    static let quietInterval: TimeInterval = 10
    /// Interval between redraws on a terminal.
    static let interactiveInterval: TimeInterval = 0.25

    /// `startBytes`: bytes already in the part file (a resumed transfer); the rate counts only
    /// the bytes of this run.
    init(file: String, total: Int64?, startBytes: Int64, interactive: Bool, write: @escaping @Sendable (String) -> Void) {
        self.file = file
        self.total = total
        self.startBytes = startBytes
        self.interactive = interactive
        self.write = write
        start = Date()
        lastReport = start
        current = startBytes
    }

    /// Records that the part file now holds `bytes`, and reports if it is time to.
    func update(_ bytes: Int64) {
        let line: String? = lock.withLock {
            current = bytes
            let now = Date()
            let interval = interactive ? Self.interactiveInterval : Self.quietInterval
            guard now.timeIntervalSince(lastReport) >= interval else { return nil }
            lastReport = now
            return describe(at: now)
        }
        if let line { write(interactive ? "\r\u{1B}[K" + line : line + "\n") }
    }

    /// Reports the end of the transfer.
    func finish() {
        let line = lock.withLock { describe(at: Date(), finished: true) }
        write(interactive ? "\r\u{1B}[K" + line + "\n" : line + "\n")
    }

    /// `model.safetensors  123.4 MB / 605.2 MB (20 %)  12.3 MB/s  ETA 0:39`.
    func describe(at now: Date, finished: Bool = false) -> String {
        let elapsed = max(now.timeIntervalSince(start), 1e-3)
        let rate = Double(current - startBytes) / elapsed
        var text = "  \(file)  \(Self.bytes(current))"
        if let total, total > 0 {
            text += " / \(Self.bytes(total)) (\(Int(Double(current) / Double(total) * 100)) %)"
        }
        text += "  \(Self.bytes(Int64(rate)))/s"
        if finished {
            text += "  in \(Self.duration(elapsed))"
            if startBytes > 0 { text += " (resumed at \(Self.bytes(startBytes)))" }
        } else if let total, rate > 0 {
            text += "  ETA \(Self.duration(Double(max(total - current, 0)) / rate))"
        }
        return text
    }

    /// Decimal units, as the hub shows sizes: `532 B`, `12.3 kB`, `605.2 MB`, `1.7 GB`.
    static func bytes(_ count: Int64) -> String {
        let units = ["kB", "MB", "GB", "TB"]
        guard count >= 1000 else { return "\(count) B" }
        var value = Double(count) / 1000
        var index = 0
        while value >= 1000 && index < units.count - 1 {
            value /= 1000
            index += 1
        }
        return String(format: "%.1f", value) + " " + units[index]
    }

    /// `0:07`, `12:34`, `1:02:03`.
    static func duration(_ seconds: TimeInterval) -> String {
        guard seconds.isFinite else { return "?" }
        let whole = Int(seconds.rounded())
        let hours = whole / 3600, minutes = whole / 60 % 60, rest = whole % 60
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, rest) : String(format: "%d:%02d", minutes, rest)
    }
}
