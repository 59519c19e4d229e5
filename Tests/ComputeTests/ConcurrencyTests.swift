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

@Suite("Non-blocking uploads from reusable host buffers")
struct StagedUploadTests {
    @Test("Large writes return before the copy, stay in queue order, and the caller may reuse its array at once")
    func stagedWritesKeepOrder() throws {
        guard let backend = try openCLBackendForTesting() else { return }
        let count = 300_000  // 1.2 MB: above the staging threshold
        let tensor = try backend.makeTensor(shape: [count]), doubled = try backend.makeTensor(shape: [count])
        var values = [Float](repeating: 0, count: count)
        for round in 0..<6 {
            for index in 0..<count { values[index] = Float(round * 7 + index % 13) }
            try backend.write(values, to: tensor)
            values[0] = -1  // mutating the source after write must not change what was uploaded
            try backend.scale(tensor, by: 2, into: doubled)
        }
        let expected = (0..<count).map { Float(2 * (5 * 7 + $0 % 13)) }
        #expect(try backend.read(doubled) == expected)
        let small = try backend.upload([1, 2, 3], shape: [3])
        #expect(try backend.read(small) == [1, 2, 3])
    }
}
