import Compute
import Foundation
import Testing

/// Fused operations against the unfused composition on the same backend (and, through the
/// kernel check, against the twin): what the encoder relies on when it folds launches together.
@Suite("Fused operations equal their unfused composition")
struct FusedOperationTests {
    /// Every backend, and on OpenCL every matmul variant.
    func backends() throws -> [any Backend] {
        var result: [any Backend] = [ReferenceBackend(), CPUBackend()]
        if try openCLBackendForTesting() != nil {
            result += try MatmulVariant.allCases.map { try OpenCLBackend(deviceIndex: 0, variants: KernelVariantOverride(matmul: $0)) }
        }
        return result
    }

    @Test("matmul with bias then activation (fused) equals matmul with bias, then activation", arguments: Activation.allCases)
    func fusedActivation(kind: Activation) throws {
        var generator = SeededGenerator(seed: 31)
        let (m, n, k) = (37, 130, 77)
        let valuesA = generator.uniform(count: m * k, in: -2...2), valuesB = generator.uniform(count: n * k), bias = generator.uniform(count: n)
        for backend in try backends() {
            let a = try backend.upload(valuesA, shape: [m, k]), b = try backend.upload(valuesB, shape: [n, k])
            let biasTensor = try backend.upload(bias, shape: [n])
            let fused = try backend.makeTensor(shape: [m, n]), unfused = try backend.makeTensor(shape: [m, n])
            try backend.fill(fused, with: .nan)
            try backend.matmul(a, b, bias: biasTensor, into: fused, options: MatmulOptions(transposeB: true, activation: kind))
            try backend.matmul(a, b, bias: biasTensor, into: unfused, options: MatmulOptions(transposeB: true))
            try backend.activation(kind, unfused, into: unfused)
            let comparison = Comparison(actual: try backend.read(fused), expected: try backend.read(unfused), absoluteTolerance: 1e-6, relativeTolerance: 1e-5)
            #expect(comparison.passed, "\(backend.deviceDescription) \(kind): \(comparison)")
        }
    }

    @Test("matmul with β = 1 and bias (residual folded in) equals matmul with bias, then add")
    func fusedResidual() throws {
        var generator = SeededGenerator(seed: 32)
        let (m, n, k) = (50, 97, 65)
        let valuesA = generator.uniform(count: m * k), valuesB = generator.uniform(count: n * k)
        let bias = generator.uniform(count: n), residual = generator.uniform(count: m * n)
        for backend in try backends() {
            let a = try backend.upload(valuesA, shape: [m, k]), b = try backend.upload(valuesB, shape: [n, k])
            let biasTensor = try backend.upload(bias, shape: [n])
            let fused = try backend.upload(residual, shape: [m, n])
            try backend.matmul(a, b, bias: biasTensor, into: fused, options: MatmulOptions(transposeB: true, beta: 1))
            let product = try backend.makeTensor(shape: [m, n]), unfused = try backend.upload(residual, shape: [m, n])
            try backend.matmul(a, b, bias: biasTensor, into: product, options: MatmulOptions(transposeB: true))
            try backend.add(unfused, product, into: unfused)
            let comparison = Comparison(actual: try backend.read(fused), expected: try backend.read(unfused), absoluteTolerance: 1e-6, relativeTolerance: 1e-5)
            #expect(comparison.passed, "\(backend.deviceDescription): \(comparison)")
        }
    }

    @Test("convolution with residual and ReLU (one product) equals convolution, then add, then ReLU")
    func fusedConvolutionResidual() throws {
        var generator = SeededGenerator(seed: 34)
        let (batch, side, channels, outChannels) = (2, 9, 5, 19)
        let geometry = ConvolutionGeometry(batch: batch, height: side, width: side, channels: channels, kernelSize: 3, stride: 2, padding: 1)
        let pixels = generator.uniform(count: batch * side * side * channels), weights = generator.uniform(count: outChannels * geometry.patchLength)
        let bias = generator.uniform(count: outChannels), residual = generator.uniform(count: geometry.rows * outChannels)
        let outputShape = [batch, geometry.outHeight, geometry.outWidth, outChannels]
        for backend in try backends() {
            let x = try backend.upload(pixels, shape: [batch, side, side, channels])
            let weight = try backend.upload(weights, shape: [outChannels, geometry.patchLength]), biasTensor = try backend.upload(bias, shape: [outChannels])
            let scratch = try backend.makeTensor(shape: [geometry.rows * geometry.patchLength])
            let fused = try backend.upload(residual, shape: outputShape)
            try backend.convolution(x, weight: weight, bias: biasTensor, kernelSize: 3, stride: 2, padding: 1, scratch: scratch,
                                    into: fused, activation: .relu, accumulate: true)
            let product = try backend.makeTensor(shape: outputShape), unfused = try backend.upload(residual, shape: outputShape)
            try backend.fill(product, with: .nan)
            try backend.convolution(x, weight: weight, bias: biasTensor, kernelSize: 3, stride: 2, padding: 1, scratch: scratch, into: product)
            try backend.add(unfused, product, into: unfused)
            try backend.activation(.relu, unfused, into: unfused)
            let comparison = Comparison(actual: try backend.read(fused), expected: try backend.read(unfused), absoluteTolerance: 1e-6, relativeTolerance: 1e-5)
            #expect(comparison.passed, "\(backend.deviceDescription): \(comparison)")
        }
    }

    @Test("splitHeads equals three column slices, each permuted to head-major")
    func splitHeadsIsThreePermutes() throws {
        var generator = SeededGenerator(seed: 33)
        let (batch, tokens, heads, headSize) = (3, 11, 4, 5)
        let width = heads * headSize
        let values = generator.uniform(count: batch * tokens * 3 * width)
        for backend in try backends() {
            let qkv = try backend.upload(values, shape: [batch, tokens, 3 * width])
            let outputs = try (0..<3).map { _ in try backend.makeTensor(shape: [batch, heads, tokens, headSize]) }
            try backend.splitHeads(qkv, heads: heads, query: outputs[0], key: outputs[1], value: outputs[2])
            // Unfused: [b, t, 3, h, d] → [3, b, h, t, d] by the general permute, then slice.
            let permuted = try backend.makeTensor(shape: [3, batch, heads, tokens, headSize])
            try backend.permute(try qkv.reshaped([batch, tokens, 3, heads, headSize]), permutation: [2, 0, 3, 1, 4], into: permuted)
            let expected = try backend.read(permuted)
            let actual = try outputs.flatMap { try backend.read($0) }
            #expect(actual == expected, "\(backend.deviceDescription)")
        }
    }
}
