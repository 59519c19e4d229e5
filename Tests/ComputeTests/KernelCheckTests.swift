import Compute
import Foundation
import Testing

@Suite("Every operation against the CPU twin")
struct KernelCheckTests {
    @Test("CPU fast path matches the twin on every standard case")
    func cpuFastPath() throws {
        try expectAllPass(on: CPUBackend(), seed: 1)
    }

    @Test("OpenCL kernels match the twin on every standard case, twice with fresh inputs")
    func openCLKernels() throws {
        guard let backend = try openCLBackendForTesting() else { return }
        try expectAllPass(on: backend, seed: 2)
        try expectAllPass(on: backend, seed: 3)
    }

    @Test("Both OpenCL matmul variants match the twin")
    func openCLMatmulVariants() throws {
        guard try openCLBackendForTesting() != nil else { return }
        for variant in OpenCLBackend.MatmulVariant.allCases {
            let backend = try OpenCLBackend(deviceIndex: 0, matmulVariant: variant)
            let cases = KernelCheck.standardCases.filter { $0.operation == "matmul" || $0.operation == "cosineSimilarity" }
            let results = try KernelCheck.run(on: backend, seed: 4, cases: cases)
            for result in results {
                #expect(result.passed, "\(variant) \(result.operation) \(result.shape): \(result.comparison)")
            }
        }
    }

    @Test("A comparison fails on NaN, on a value outside the tolerance and on a length mismatch")
    func comparisonCanFail() {
        #expect(!Comparison(actual: [1, .nan], expected: [1, 2], absoluteTolerance: 1, relativeTolerance: 1).passed)
        #expect(!Comparison(actual: [1, 2.1], expected: [1, 2], absoluteTolerance: 0.01, relativeTolerance: 0.01).passed)
        #expect(!Comparison(actual: [1], expected: [1, 2], absoluteTolerance: 1, relativeTolerance: 1).passed)
        #expect(Comparison(actual: [1, 2.01], expected: [1, 2], absoluteTolerance: 0.001, relativeTolerance: 0.01).passed)
    }

    private func expectAllPass(on backend: any Backend, seed: UInt64) throws {
        let results = try KernelCheck.run(on: backend, seed: seed)
        #expect(results.count == KernelCheck.standardCases.count)
        for result in results {
            #expect(result.passed, "\(backend.name) \(result.operation) \(result.shape): \(result.comparison)")
        }
    }
}
