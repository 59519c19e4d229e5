// =================================================================================================
// LayerNorm.swift: one place for the operation family of Kernels/layer_norm.cl
//
// Layer normalisation over the last dimension (`Kernels/layer_norm.cl`).
// Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run by
// `ReferenceBackend`), the CPU fast path, the OpenCL launch, its `kernels bench` figures (where it
// has some), and the `kernels check` cases. Adding an operation to the family means editing this
// file, its kernel and the `Backend` protocol.
// =================================================================================================

import Foundation

// MARK: Validation

func validateLayerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, _ y: Tensor) throws -> (rows: Int, width: Int) {
    let (rows, width) = try rowsAndWidth(x, operation: "layerNorm", name: "x")
    try requireSameCount(x, y, operation: "layerNorm")
    guard weight.count == width else {
        throw ComputeError.shapeMismatch(operation: "layerNorm", tensor: "weight", expected: "[\(width)]", actual: weight.shape)
    }
    guard bias.count == width else {
        throw ComputeError.shapeMismatch(operation: "layerNorm", tensor: "bias", expected: "[\(width)]", actual: bias.shape)
    }
    return (rows, width)
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func layerNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        _ y: UnsafeMutablePointer<Float>, rows: Int, width: Int, epsilon: Float
    ) {
        for row in 0..<rows {
            var mean = 0.0
            for column in 0..<width { mean += Double(x[row * width + column]) }
            mean /= Double(width)
            var variance = 0.0
            for column in 0..<width {
                let centered = Double(x[row * width + column]) - mean
                variance += centered * centered
            }
            variance /= Double(width)
            let inverse = 1 / (variance + Double(epsilon)).squareRoot()
            for column in 0..<width {
                let normalized = (Double(x[row * width + column]) - mean) * inverse
                y[row * width + column] = Float(normalized * Double(weight[column]) + Double(bias[column]))
            }
        }
    }
}

extension ReferenceBackend {
    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float, into y: Tensor) throws {
        try measured("layerNorm") {
            let (rows, width) = try validateLayerNorm(x, weight: weight, bias: bias, y)
            let px = try storage(x, "layerNorm", "x"), py = try storage(y, "layerNorm", "y")
            let pw = try storage(weight, "layerNorm", "weight"), pb = try storage(bias, "layerNorm", "bias")
            ReferenceOps.layerNorm(px, weight: pw, bias: pb, py, rows: rows, width: width, epsilon: epsilon)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float, into y: Tensor) throws {
        try measured("layerNorm") {
            let (rows, width) = try validateLayerNorm(x, weight: weight, bias: bias, y)
            let px = try storage(x, "layerNorm", "x"), py = try storage(y, "layerNorm", "y")
            let pw = try storage(weight, "layerNorm", "weight"), pb = try storage(bias, "layerNorm", "bias")
            parallelRows(rows, width: width) { row in
                let input = px + row * width, output = py + row * width
                let (mean, variance) = VectorLoops.meanAndVariance(input, count: width)
                let inverse = 1 / (variance + epsilon).squareRoot()
                VectorLoops.normalize(input, output, count: width, mean: mean, inverse: inverse, weight: pw, bias: pb)
            }
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float, into y: Tensor) throws {
        let (rows, width) = try validateLayerNorm(x, weight: weight, bias: bias, y)
        guard rows > 0 else { return }
        try launchRows(.layerNorm, rows: rows, width: width, parameters: [.int(Int32(width)), .float(epsilon)], buffers: [
            .buffer(try memory(x, "layerNorm", "x")), .buffer(try memory(weight, "layerNorm", "weight")),
            .buffer(try memory(bias, "layerNorm", "bias")), .buffer(try memory(y, "layerNorm", "y")),
        ])
    }
}

// MARK: Bench cases

extension KernelCheck {
    /// GB/s (one read, one write) at the encoder's widths.
    static let layerNormBenchCases: [Case] = [("[3200, 768] (64 x 50 tokens)", 3200, 768), ("[38400, 50]", 38400, 50)].map {
        name, rows, width in
        timed("layerNorm", name, .bytes(Double(rows * width * 8))) { context in
            let x = try context.random([rows, width]), y = try context.backend.makeTensor(shape: [rows, width])
            let weight = try context.random([width]), bias = try context.random([width])
            return { try context.backend.layerNorm(x, weight: weight, bias: bias, epsilon: 1e-5, into: y) }
        }
    }
}

// MARK: Check cases

extension KernelCheck {
    /// Widths 1 to 768, inputs in [-3, 3].
    static let layerNormCases: [Case] = {
        var cases: [Case] = []
        for (rows, width) in [(1, 1), (7, 768), (77, 512), (197, 768), (3, 513)] {
            cases.append(rowCase("layerNorm", rows: rows, width: width, range: -3...3, atol: 1e-4, rtol: 1e-4,
                                 extraCounts: [width, width]) { backend, x, y, inputs in
                let weight = try backend.upload(inputs[1], shape: [width]), bias = try backend.upload(inputs[2], shape: [width])
                try backend.layerNorm(x, weight: weight, bias: bias, epsilon: 1e-5, into: y)
            })
        }
        return cases
    }()
}
