import Foundation

/// A host buffer that an asynchronous upload reads from.
final class StagingBuffer: @unchecked Sendable {
    // @unchecked: owned by one upload at a time; handed between threads only through the pool's lock.
    let pointer: UnsafeMutableRawPointer
    let capacity: Int
    /// The pool it returns to (weak: buffers still in flight when the backend closes just free).
    weak var pool: StagingPool?

    init(capacity: Int, pool: StagingPool) {
        pointer = .allocate(byteCount: capacity, alignment: 64)
        self.capacity = capacity
        self.pool = pool
    }

    deinit { pointer.deallocate() }
}

/// Reusable host buffers for non-blocking uploads: a buffer is taken for each large write and
/// given back by the write's completion callback (a driver thread), so a steady stream of
/// same-sized batches allocates nothing after the first.
final class StagingPool: @unchecked Sendable {
    // @unchecked: `free` is guarded by `lock`.
    /// Writes below this size stay blocking: copying them costs less than the bookkeeping.
    static let minimumBytes = 1 << 16
    /// Buffers kept for reuse at most.
    static let keep = 8
    /// Bytes of uploads in flight above which a write first waits for the queue.
    static let inFlightLimit = 256 << 20
    private let lock = NSLock()
    private var free: [StagingBuffer] = []
    private var taken = 0

    /// Bytes of the buffers currently held by uploads.
    var inFlightBytes: Int { lock.withLock { taken } }

    func take(bytes: Int) -> StagingBuffer {
        let buffer = lock.withLock {
            if let index = free.firstIndex(where: { $0.capacity >= bytes && $0.capacity <= 2 * bytes }) {
                return free.remove(at: index)
            }
            return nil
        } ?? StagingBuffer(capacity: bytes, pool: self)
        lock.withLock { taken += buffer.capacity }
        return buffer
    }

    func give(_ buffer: StagingBuffer) {
        lock.withLock {
            taken -= buffer.capacity
            if free.count >= Self.keep { free.removeFirst() }
            free.append(buffer)
        }
    }
}

func roundUp(_ value: Int, _ multiple: Int) -> Int {
    (value + multiple - 1) / multiple * multiple
}
