import Dispatch
import Foundation

/// Wraps a backend and measures the time of every operation, synchronising after each one so
/// that device time is attributed to the operation that spent it. For `--profile` breakdowns;
/// the synchronisation makes the wrapped backend slower than it runs unprofiled.
public final class ProfilingBackend: Backend, @unchecked Sendable {
    // @unchecked: `totals` is guarded by `lock`.

    /// Accumulated time and call count of one operation.
    public struct Entry: Sendable, Codable {
        public let operation: String
        public let calls: Int
        public let seconds: Double
    }

    public let base: any Backend
    private let lock = NSLock()
    private var totals: [String: (calls: Int, seconds: Double)] = [:]

    public init(wrapping base: any Backend) {
        self.base = base
    }

    public var name: String { base.name }
    public var deviceDescription: String { base.deviceDescription }

    /// Entries sorted by total time, largest first.
    public var entries: [Entry] {
        lock.withLock { totals.map { Entry(operation: $0.key, calls: $0.value.calls, seconds: $0.value.seconds) } }
            .sorted { $0.seconds > $1.seconds }
    }

    /// Forgets what was measured so far.
    public func reset() {
        lock.withLock { totals.removeAll() }
    }

    func measure<Result>(_ operation: String, _ body: () throws -> Result) throws -> Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        try base.synchronize()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        lock.withLock {
            let previous = totals[operation] ?? (0, 0)
            totals[operation] = (previous.calls + 1, previous.seconds + seconds)
        }
        return result
    }

    public func makeTensor(shape: [Int]) throws -> Tensor { try measure("allocate") { try base.makeTensor(shape: shape) } }
    public func uploadConstant(_ values: [Float], shape: [Int]) throws -> Tensor {
        try measure("write (host → device)") { try base.uploadConstant(values, shape: shape) }
    }
    public func write(_ values: [Float], to tensor: Tensor) throws { try measure("write (host → device)") { try base.write(values, to: tensor) } }
    public func read(_ tensor: Tensor) throws -> [Float] { try measure("read (device → host)") { try base.read(tensor) } }
    public func copy(_ source: Tensor, to destination: Tensor) throws { try measure("copy") { try base.copy(source, to: destination) } }
    public func fill(_ tensor: Tensor, with value: Float) throws { try measure("fill") { try base.fill(tensor, with: value) } }
    public func synchronize() throws { try base.synchronize() }

}
