import Compute
import Foundation
import Testing

@Suite("Backends used from several tasks at once")
struct ConcurrencyTests {
    @Test("Concurrent matrix products on one backend give the twin's results")
    func concurrentProducts() async throws {
        for backend in try backendsForTesting() {
            try await withThrowingTaskGroup(of: Comparison.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        var generator = SeededGenerator(seed: UInt64(100 + task))
                        let (m, n, k) = (31 + task, 17 + 3 * task, 45)
                        let valuesA = generator.uniform(count: m * k), valuesB = generator.uniform(count: k * n)
                        let reference = ReferenceBackend()
                        let expectedC = try reference.makeTensor(shape: [m, n])
                        try reference.matmul(try reference.upload(valuesA, shape: [m, k]), try reference.upload(valuesB, shape: [k, n]), into: expectedC)
                        var last: [Float] = []
                        for _ in 0..<5 {
                            let c = try backend.makeTensor(shape: [m, n])
                            try backend.matmul(try backend.upload(valuesA, shape: [m, k]), try backend.upload(valuesB, shape: [k, n]), into: c)
                            try backend.softmaxRows(c, into: c, scale: 1, causalMask: false)
                            last = try backend.read(c)
                        }
                        let expected = try reference.makeTensor(shape: [m, n])
                        try reference.softmaxRows(expectedC, into: expected, scale: 1, causalMask: false)
                        return Comparison(actual: last, expected: try reference.read(expected), absoluteTolerance: 1e-5, relativeTolerance: 1e-4)
                    }
                }
                for try await comparison in group {
                    #expect(comparison.passed, "\(backend.name): \(comparison)")
                }
            }
        }
    }

    @Test("Several OpenCL backends can be opened concurrently (discovery runs once)")
    func concurrentOpening() async throws {
        guard try openCLBackendForTesting() != nil else { return }
        try await withThrowingTaskGroup(of: [Float].self) { group in
            for task in 0..<4 {
                group.addTask {
                    let backend = try OpenCLBackend(deviceIndex: 0)
                    let x = try backend.upload([Float(task), 1], shape: [1, 2])
                    try backend.scale(x, by: 2, into: x)
                    return try backend.read(x)
                }
            }
            var results: [[Float]] = []
            for try await values in group { results.append(values) }
            #expect(Set(results.map { $0[0] }) == [0, 2, 4, 6])
        }
    }
}
