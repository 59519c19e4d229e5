// =================================================================================================
// Pooling.swift: one place for the operation family of Kernels/pooling.cl
//
// Average pooling of channels-last images with window = stride (`Kernels/pooling.cl`): the ResNet
// image tower's stem pool and the anti-aliasing pool of its strided blocks. Here, in this order:
// shape validation, the plain-loop twin (`ReferenceOps`, run by `ReferenceBackend`), the CPU fast
// path, the OpenCL launch, its `kernels bench` figures, and the `kernels check` cases. Adding an
// operation to the family means editing this file, its kernel and the `Backend` protocol.
// =================================================================================================

import Foundation

// MARK: Validation

/// The sizes of an `averagePool` call: input `[batch, height, width, channels]`, window `window`.
struct PoolGeometry: Equatable {
    var batch: Int
    var height: Int
    var width: Int
    var channels: Int
    var window: Int
    var outHeight: Int { height / window }
    var outWidth: Int { width / window }
    var outputCount: Int { batch * outHeight * outWidth * channels }
}

func validateAveragePool(_ x: Tensor, window: Int, _ y: Tensor) throws -> PoolGeometry {
    guard x.rank == 4, window > 0, x.shape[1] >= window, x.shape[2] >= window else {
        throw ComputeError.shapeMismatch(operation: "averagePool", tensor: "x",
                                         expected: "[batch, height, width, channels] with sides ≥ window \(window) > 0", actual: x.shape)
    }
    let g = PoolGeometry(batch: x.shape[0], height: x.shape[1], width: x.shape[2], channels: x.shape[3], window: window)
    guard y.count == g.outputCount else {
        throw ComputeError.shapeMismatch(operation: "averagePool", tensor: "output",
                                         expected: "[\(g.batch), \(g.outHeight), \(g.outWidth), \(g.channels)]", actual: y.shape)
    }
    return g
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func averagePool(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, geometry g: PoolGeometry) {
        for b in 0..<g.batch {
            for oy in 0..<g.outHeight {
                for ox in 0..<g.outWidth {
                    for c in 0..<g.channels {
                        var sum = 0.0
                        for ky in 0..<g.window {
                            for kx in 0..<g.window {
                                sum += Double(x[((b * g.height + oy * g.window + ky) * g.width + ox * g.window + kx) * g.channels + c])
                            }
                        }
                        y[((b * g.outHeight + oy) * g.outWidth + ox) * g.channels + c] = Float(sum / Double(g.window * g.window))
                    }
                }
            }
        }
    }
}

extension ReferenceBackend {
    public func averagePool(_ x: Tensor, window: Int, into y: Tensor) throws {
        try measured("averagePool") {
            let g = try validateAveragePool(x, window: window, y)
            ReferenceOps.averagePool(try storage(x, "averagePool", "x"), try storage(y, "averagePool", "output"), geometry: g)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func averagePool(_ x: Tensor, window: Int, into y: Tensor) throws {
        try measured("averagePool") {
            let g = try validateAveragePool(x, window: window, y)
            let source = try storage(x, "averagePool", "x"), target = try storage(y, "averagePool", "output")
            let inverse = 1 / Float(window * window)
            // One output pixel per task, summing whole runs of channels.
            parallelRows(g.batch * g.outHeight * g.outWidth, width: g.channels * window * window) { row in
                let ox = row % g.outWidth, oy = (row / g.outWidth) % g.outHeight, b = row / (g.outWidth * g.outHeight)
                let output = target + row * g.channels
                output.update(repeating: 0, count: g.channels)
                for ky in 0..<window {
                    for kx in 0..<window {
                        let input = source + ((b * g.height + oy * window + ky) * g.width + ox * window + kx) * g.channels
                        for c in 0..<g.channels { output[c] += input[c] }
                    }
                }
                for c in 0..<g.channels { output[c] *= inverse }
            }
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func averagePool(_ x: Tensor, window: Int, into y: Tensor) throws {
        let g = try validateAveragePool(x, window: window, y)
        guard g.outputCount > 0 else { return }
        try launch(.averagePool, global: [roundUp(g.outputCount, 64)], arguments: [
            .int(Int32(g.outputCount)), .int(Int32(g.height)), .int(Int32(g.width)), .int(Int32(g.channels)),
            .int(Int32(window)), .int(Int32(g.outHeight)), .int(Int32(g.outWidth)),
            .buffer(try memory(x, "averagePool", "x")), .buffer(try memory(y, "averagePool", "output")),
        ])
    }
}

// MARK: Bench cases

extension KernelCheck {
    /// GB/s (one read of the input, one write of the output) at RN50's stem pool shape.
    static let poolingBenchCases: [Case] = [
        timed("averagePool", "[8, 112, 112, 64] window 2", .bytes(Double(8 * 112 * 112 * 64 + 8 * 56 * 56 * 64) * 4)) { context in
            let x = try context.random([8, 112, 112, 64]), y = try context.backend.makeTensor(shape: [8, 56, 56, 64])
            return { try context.backend.averagePool(x, window: 2, into: y) }
        },
    ]
}

// MARK: Check cases

extension KernelCheck {
    /// Windows 1, 2, 3 on odd sides (the last row and column dropped, as PyTorch does).
    static let poolingCases: [Case] = {
        var cases: [Case] = []
        for (batch, height, width, channels, window) in [(2, 8, 8, 3, 2), (1, 7, 9, 5, 2), (3, 9, 10, 2, 3), (1, 1, 1, 1, 1)] {
            let g = PoolGeometry(batch: batch, height: height, width: width, channels: channels, window: window)
            cases.append(Case(operation: "averagePool", shape: "[\(batch), \(height), \(width), \(channels)] window \(window)",
                              absoluteTolerance: 1e-6, relativeTolerance: 1e-5, run: { backend, inputs in
                let x = try backend.upload(inputs[0], shape: [batch, height, width, channels])
                let y = try poisoned(backend, [batch, g.outHeight, g.outWidth, channels])
                try backend.averagePool(x, window: window, into: y)
                return try backend.read(y)
            }, inputCounts: [batch * height * width * channels], inputRange: -1...1))
        }
        return cases
    }()
}
