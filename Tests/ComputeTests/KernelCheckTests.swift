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

    @Test("Every combination of kernel variants matches the twin on every case, and together they launch every kernel")
    func everyVariantCombination() throws {
        guard try openCLBackendForTesting() != nil else { return }
        var launched: Set<KernelName> = []
        for (offset, variants) in KernelVariants.allCombinations.enumerated() {
            let backend = try OpenCLBackend(deviceIndex: 0, variants: KernelVariantOverride(matmul: variants.matmul, rows: variants.rows))
            #expect(backend.variants == variants)
            let results = try KernelCheck.run(on: backend, seed: 40 + UInt64(offset))
            for result in results {
                #expect(result.passed, "\(variants) \(result.operation) \(result.shape): \(result.comparison)")
            }
            launched.formUnion(backend.launchedKernels)
        }
        let missing = KernelName.allCases.filter { !launched.contains($0) }
        #expect(missing.isEmpty, "kernels no check reaches: \(missing)")
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
