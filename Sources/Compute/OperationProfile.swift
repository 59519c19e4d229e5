import Dispatch
import Foundation

/// Time and call count per operation, for `--profile` breakdowns. A backend reports to it
/// through its `LaunchHook`: `CPUBackend` and `ReferenceBackend` around each operation (they
/// run synchronously, so that is the operation's whole time), the OpenCL runtime around each
/// kernel launch (the host time of the launch; device time per kernel comes from
/// `OpenCLBackend.kernelTimes()`).
public final class OperationProfile: @unchecked Sendable {
    // @unchecked: `totals` is guarded by `lock`.

    /// Accumulated time and call count of one operation.
    public struct Entry: Sendable, Codable {
        public let operation: String
        public let calls: Int
        public let seconds: Double
    }

    private let lock = NSLock()
    private var totals: [String: (calls: Int, seconds: Double)] = [:]

    public init() {}

    /// Entries sorted by total time, largest first.
    public var entries: [Entry] {
        lock.withLock { totals.map { Entry(operation: $0.key, calls: $0.value.calls, seconds: $0.value.seconds) } }
            .sorted { $0.seconds > $1.seconds }
    }

    /// Forgets what was measured so far.
    public func reset() {
        lock.withLock { totals.removeAll() }
    }

    /// Adds one call of `operation` that took `seconds`.
    public func record(_ operation: String, seconds: Double) {
        lock.withLock {
            let previous = totals[operation] ?? (0, 0)
            totals[operation] = (previous.calls + 1, previous.seconds + seconds)
        }
    }
}

/// The launch hook of a backend: the profile its operations or launches report to, `nil` (the
/// default) for none. It can be set after the backend opened, from any thread.
public final class LaunchHook: @unchecked Sendable {
    // @unchecked: `current` is guarded by `lock`.
    private let lock = NSLock()
    private var current: OperationProfile?

    public init() {}

    /// The profile that receives the times (`nil`: nothing is timed).
    public var profile: OperationProfile? {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }

    /// Whether the current thread is inside a measured operation, whose inner operations (a
    /// cosine similarity's normalisations and product) are its time, not entries of their own.
    @TaskLocal private static var measuring = false

    /// Runs `body` and, when there is a profile, reports its time under `operation` (operations
    /// that `body` runs on this backend are not reported apart).
    func measured<Result>(_ operation: @autoclosure () -> String, _ body: () throws -> Result) rethrows -> Result {
        guard let profile, !Self.measuring else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try Self.$measuring.withValue(true) { try body() }
        profile.record(operation(), seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        return result
    }
}
