import Foundation

/// The memory this process has used, for benchmark reports.
public enum ProcessMemory {
    /// This process's peak resident memory in MiB: `VmHWM` of /proc/self/status, which starts
    /// afresh at `exec` (getrusage's `ru_maxrss` keeps the parent's peak across fork and exec on
    /// Linux, so a benchmark started from a large Python process would report the parent's memory).
    public static func peakResidentMegabytes() -> Double {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kibibytes = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap({ Double($0) }) {
            return kibibytes / 1024
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
