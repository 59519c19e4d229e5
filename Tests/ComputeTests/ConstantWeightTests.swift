import Compute
import Foundation
import Testing

/// Weights uploaded with `uploadConstant` are rearranged once (packed panels, or transposed for
/// the GPU kernels) and reused: the products stay equal to the twin, later products issue fewer
/// launches, and writing the constant again drops the stale arrangement.
@Suite("Constant weights: rearranged once, reused, refreshed on write")
struct ConstantWeightTests {
    @Test("products with a constant weight equal the twin on every matmul variant, before and after it is rewritten")
    func constantWeightProducts() throws {
        guard try openCLBackendForTesting() != nil else { return }
        var generator = SeededGenerator(seed: 41)
        let (m, n, k) = (37, 70, 29)
        let valuesA = generator.uniform(count: m * k), first = generator.uniform(count: n * k), second = generator.uniform(count: n * k)
        let reference = ReferenceBackend()
        func expected(_ weight: [Float]) throws -> [Float] {
            let c = try reference.makeTensor(shape: [m, n])
            try reference.matmul(try reference.upload(valuesA, shape: [m, k]), try reference.upload(weight, shape: [n, k]), into: c,
                                 options: MatmulOptions(transposeB: true))
            return try reference.read(c)
        }
        for variant in MatmulVariant.allCases {
            let backend = try OpenCLBackend(deviceIndex: 0, variants: KernelVariantOverride(matmul: variant), consultTuningRecord: false)
            let a = try backend.upload(valuesA, shape: [m, k]), weight = try backend.uploadConstant(first, shape: [n, k])
            let c = try backend.makeTensor(shape: [m, n])
            try backend.matmul(a, weight, into: c, options: MatmulOptions(transposeB: true))
            backend.resetLaunchStatistics()
            try backend.fill(c, with: .nan)
            try backend.matmul(a, weight, into: c, options: MatmulOptions(transposeB: true))
            let reused = backend.launchStatistics.launches - 1  // the fill
            let comparison = Comparison(actual: try backend.read(c), expected: try expected(first), absoluteTolerance: 1e-5, relativeTolerance: 1e-4)
            #expect(comparison.passed, "\(variant) reused: \(comparison)")
            // packed: pack A + product (B's panels kept); tiled and blocked: the product alone.
            #expect(reused == (variant == .packed ? 2 : 1), "\(variant): \(reused) launches for a product with a kept weight")

            try backend.write(second, to: weight)
            try backend.fill(c, with: .nan)
            try backend.matmul(a, weight, into: c, options: MatmulOptions(transposeB: true))
            let refreshed = Comparison(actual: try backend.read(c), expected: try expected(second), absoluteTolerance: 1e-5, relativeTolerance: 1e-4)
            #expect(refreshed.passed, "\(variant) after rewriting the weight: \(refreshed)")
        }
    }

    @Test("a constant reads back as uploaded, on every backend")
    func constantReadsBack() throws {
        var generator = SeededGenerator(seed: 42)
        let values = generator.uniform(count: 3 * 5)
        for backend in try backendsForTesting() {
            let tensor = try backend.uploadConstant(values, shape: [3, 5])
            #expect(try backend.read(tensor) == values, "\(backend.name)")
            #expect(throws: ComputeError.self) { try backend.uploadConstant(values, shape: [4, 5]) }
        }
    }
}
