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

    /// Every backend, and on OpenCL both attention kernels (`rows` variants).
    func attentionBackends() throws -> [any Backend] {
        var result: [any Backend] = [ReferenceBackend(), CPUBackend()]
        if try openCLBackendForTesting() != nil {
            result += try RowVariant.allCases.map { try OpenCLBackend(deviceIndex: 0, variants: KernelVariantOverride(rows: $0)) }
        }
        return result
    }

    @Test("attention equals head split, score product, softmax, context product and head merge", arguments: [false, true])
    func attentionIsItsComposition(causal: Bool) throws {
        var generator = SeededGenerator(seed: causal ? 34 : 33)
        let (batch, tokens, heads, headSize) = (3, 37, 4, 24)
        let width = heads * headSize, scale = 1 / Float(headSize).squareRoot()
        let values = generator.uniform(count: batch * tokens * 3 * width, in: -2...2)
        for backend in try attentionBackends() {
            let qkv = try backend.upload(values, shape: [batch, tokens, 3 * width])
            let fused = try backend.makeTensor(shape: [batch, tokens, width])
            try backend.fill(fused, with: .nan)
            try backend.attention(qkv, heads: heads, scale: scale, causalMask: causal, into: fused)
            // Unfused: [b, t, 3, h, d] → [3, b, h, t, d], q kᵀ, softmax, · v, [b, h, t, d] → [b, t, h, d].
            let split = try backend.makeTensor(shape: [3, batch * heads, tokens, headSize])
            try backend.permute(try qkv.reshaped([batch, tokens, 3, heads, headSize]), permutation: [2, 0, 3, 1, 4],
                                into: try split.reshaped([3, batch, heads, tokens, headSize]))
            let parts = try backend.read(split), part = batch * heads * tokens * headSize
            let query = try backend.upload(Array(parts[0..<part]), shape: [batch * heads, tokens, headSize])
            let key = try backend.upload(Array(parts[part..<(2 * part)]), shape: [batch * heads, tokens, headSize])
            let value = try backend.upload(Array(parts[(2 * part)...]), shape: [batch * heads, tokens, headSize])
            let scores = try backend.makeTensor(shape: [batch * heads, tokens, tokens])
            try backend.matmul(query, key, into: scores, options: MatmulOptions(transposeB: true, alpha: scale))
            try backend.softmaxRows(scores, into: scores, scale: 1, causalMask: causal)
            let contextHeads = try backend.makeTensor(shape: [batch, heads, tokens, headSize])
            try backend.matmul(scores, value, into: try contextHeads.reshaped([batch * heads, tokens, headSize]))
            let unfused = try backend.makeTensor(shape: [batch, tokens, heads, headSize])
            try backend.permute(contextHeads, permutation: [0, 2, 1, 3], into: unfused)
            let comparison = Comparison(actual: try backend.read(fused), expected: try backend.read(unfused),
                                        absoluteTolerance: 1e-5, relativeTolerance: 1e-4)
            #expect(comparison.passed, "\(backend.deviceDescription) causal \(causal): \(comparison)")
        }
    }
}
