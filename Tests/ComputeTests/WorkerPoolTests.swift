@testable import Compute
import Foundation
import Testing

/// The CPU backend's worker pool: every index runs exactly once, on several threads when the
/// machine has several cores, after idle gaps long enough for the workers to sleep, when regions
/// nest, when threads start regions at once, and in a forked child.
@Suite("The CPU backend's worker pool", .serialized)
struct WorkerPoolTests {
    /// Runs `count` indices in one region; returns how often each ran and how many threads ran them.
    func region(_ count: Int, work: Int = 0) -> (counts: [Int], threads: Int) {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: count)
        let threads = UnsafeMutablePointer<pthread_t>.allocate(capacity: count)
        counts.initialize(repeating: 0, count: count)
        defer { counts.deallocate(); threads.deallocate() }
        WorkerPool.run(count) { index in
            counts[index] += 1  // each index is its own slot: no two tasks write one
            threads[index] = pthread_self()
            var spin = 0.0
            for step in 0..<work { spin += Double(step).squareRoot() }
            if spin < 0 { print(spin) }  // keeps the work
        }
        let distinct = Set((0..<count).map { UInt(bitPattern: Int(bitPattern: threads[$0])) }).count
        return (Array(UnsafeBufferPointer(start: counts, count: count)), distinct)
    }

    @Test("Every index runs exactly once, over all the pool's threads when there is work for them")
    func everyIndexOnce() {
        for count in [0, 1, 2, 3, 7, 64, 1000] {
            let (counts, _) = region(count)
            #expect(counts == [Int](repeating: 1, count: count), "\(count) indices")
        }
        guard WorkerPool.threads > 1 else { return }
        // Long indices: the caller cannot finish them all before a worker takes one.
        let (counts, threads) = region(4 * WorkerPool.threads, work: 2_000_000)
        #expect(counts.allSatisfy { $0 == 1 })
        #expect(threads > 1, "one thread ran every index of a region of long tasks")
    }

    @Test("Regions after gaps longer than the workers' spin (they sleep and are woken) all complete")
    func regionsAfterSleeping() {
        WorkerPool.setSpinMicroseconds(50)
        defer { WorkerPool.setSpinMicroseconds(5000) }
        for round in 0..<40 {
            if round % 4 == 0 { usleep(2000) }  // the workers are asleep by now
            let (counts, _) = region(8 + round, work: round % 3 == 0 ? 20_000 : 0)
            #expect(counts.allSatisfy { $0 == 1 }, "round \(round)")
        }
    }

    @Test("A region started inside a task runs on that task's thread")
    func nestedRegions() {
        let inner = 16, outer = 8
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: outer * inner)
        counts.initialize(repeating: 0, count: outer * inner)
        defer { counts.deallocate() }
        WorkerPool.run(outer) { o in
            WorkerPool.run(inner) { i in counts[o * inner + i] += 1 }
        }
        #expect(UnsafeBufferPointer(start: counts, count: outer * inner).allSatisfy { $0 == 1 })
    }

    @Test("Threads that start regions at once each get every index of their own region run once")
    func concurrentCallers() async {
        let results = await withTaskGroup(of: Bool.self) { group in
            for caller in 0..<6 {
                group.addTask {
                    (0..<50).allSatisfy { round in region(3 + (caller + round) % 20, work: 1000).counts.allSatisfy { $0 == 1 } }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == [Bool](repeating: true, count: 6))
    }
}

extension WorkerPoolTests {
    @Test("A child process forked after the pool started runs its regions on its one thread instead of waiting for workers it lacks")
    func regionsInAForkedChild() throws {
        guard WorkerPool.threads > 1 else { return }
        _ = region(8, work: 1000)  // the pool runs
        let counts = UnsafeMutablePointer<Int32>.allocate(capacity: 8)
        defer { counts.deallocate() }
        let child = fork()
        if child == 0 {
            // Only the forking thread exists here: no allocation, no Swift runtime locks.
            for index in 0..<8 { counts[index] = 0 }
            WorkerPool.run(8) { index in counts[index] += 1 }
            _exit((0..<8).allSatisfy { counts[$0] == 1 } ? 0 : 1)
        }
        try #require(child > 0, "fork failed")
        var status: Int32 = 0
        var waited = 0
        while waitpid(child, &status, WNOHANG) == 0 {
            guard waited < 200 else {
                kill(child, SIGKILL)
                _ = waitpid(child, &status, 0)
                Issue.record("the forked child's region did not finish in 10 s")
                return
            }
            usleep(50_000)
            waited += 1
        }
        #expect(status == 0, "child exit status \(status)")
    }
}
