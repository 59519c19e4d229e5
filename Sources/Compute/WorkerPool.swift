import CWorkerPool
import Foundation

/// The CPU backend's threads for parallel regions: the calling thread and one worker per further
/// core (`CWorkerPool`). Workers spin for a few milliseconds after a region before they sleep, so
/// the back-to-back regions of an encoder layer or a training step start without the 20 to 110 µs
/// that waking a sleeping thread cost per region on the 2-core KVM guests measured
/// (docs/benchmarks.md). A region started while another runs (from inside a task, or from
/// another thread) runs on its calling thread alone.
enum WorkerPool {
    /// Threads that run a region: the caller and the workers.
    static let threads: Int = worker_pool_start(ProcessInfo.processInfo.activeProcessorCount - 1)

    /// How long an idle worker spins before it sleeps, in microseconds (5000 unless set).
    static func setSpinMicroseconds(_ microseconds: Int) { worker_pool_set_spin_microseconds(microseconds) }

    /// Runs `body(index)` for every index in `0 ..< count` over the pool's threads and returns
    /// when all have run. Indices are handed out one at a time, so uneven ones balance.
    static func run(_ count: Int, _ body: (Int) -> Void) {
        guard count > 1, threads > 1 else {
            for index in 0..<count { body(index) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            // The body only lives for this call; worker_pool_run returns after its last index.
            var body = escapable
            withUnsafeMutablePointer(to: &body) { pointer in
                worker_pool_run(count, { context, index in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
                }, pointer)
            }
        }
    }

    /// Runs `body` on `chunks` consecutive ranges that cover `0 ..< count`, over the pool's threads.
    static func run(_ count: Int, chunks: Int, _ body: (Range<Int>) -> Void) {
        run(chunks) { chunk in body((count * chunk / chunks)..<(count * (chunk + 1) / chunks)) }
    }
}

extension KernelBenchmark {
    /// The cost of starting a parallel region, the reason for `WorkerPool`: one 50 µs task per
    /// thread after 0.5 ms of single-threaded work (a training step's gap between products), run on
    /// the worker pool and on Dispatch's `concurrentPerform`. The value is the median wall time of
    /// the region in µs; 50 is the ideal.
    public static func parallelRegionFigures(repeats: Int = 5) -> [Figure] {
        @Sendable func spin(microseconds: Double) {
            let end = DispatchTime.now().uptimeNanoseconds + UInt64(microseconds * 1000)
            while DispatchTime.now().uptimeNanoseconds < end {}
        }
        func median(_ region: () -> Void) -> Double {
            var times: [Double] = []
            for _ in 0..<(20 * max(repeats, 1)) {
                spin(microseconds: 500)
                let start = DispatchTime.now().uptimeNanoseconds
                region()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3)
            }
            return times.sorted()[times.count / 2]
        }
        let tasks = WorkerPool.threads
        let name = "parallel region, \(tasks) x 50 us tasks after 0.5 ms on one thread"
        let pool = median { WorkerPool.run(tasks) { _ in spin(microseconds: 50) } }
        let dispatch = median { DispatchQueue.concurrentPerform(iterations: tasks) { _ in spin(microseconds: 50) } }
        return [Figure(name: "\(name): worker pool", unit: "us", value: pool, seconds: pool / 1e6),
                Figure(name: "\(name): Dispatch", unit: "us", value: dispatch, seconds: dispatch / 1e6)]
    }
}
