// =================================================================================================
// Softmax.swift: one place for the operation family of Kernels/softmax.cl
//
// Row-wise softmax of `scale · x`, optional causal mask (`Kernels/softmax.cl`).
// Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run by
// `ReferenceBackend`), the CPU fast path, the OpenCL launch, its `kernels bench` figures (where it
// has some), and the `kernels check` cases. Adding an operation to the family means editing this
// file, its kernel and the `Backend` protocol.
// =================================================================================================

import Foundation

// MARK: Validation

func validateSoftmax(_ x: Tensor, _ y: Tensor, causalMask: Bool) throws -> (rows: Int, width: Int) {
    let (rows, width) = try rowsAndWidth(x, operation: "softmax", name: "x")
    try requireSameCount(x, y, operation: "softmax")
    if causalMask, rows % width != 0 {
        throw ComputeError.shapeMismatch(operation: "softmax", tensor: "x", expected: "stacked square [n, n] score matrices for the causal mask", actual: x.shape)
    }
    return (rows, width)
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func softmaxRows(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, width: Int,
        scale: Float, causalMask: Bool
    ) {
        for row in 0..<rows {
            let visible = causalMask ? (row % width) + 1 : width
            var maximum = -Float.infinity
            for column in 0..<visible { maximum = max(maximum, scale * x[row * width + column]) }
            var sum = 0.0
            for column in 0..<visible { sum += Double(expf(scale * x[row * width + column] - maximum)) }
            for column in 0..<width {
                y[row * width + column] = column < visible
                    ? Float(Double(expf(scale * x[row * width + column] - maximum)) / sum) : 0
            }
        }
    }
}

extension ReferenceBackend {
    public func softmaxRows(_ x: Tensor, into y: Tensor, scale: Float, causalMask: Bool) throws {
        try measured("softmax") {
            let (rows, width) = try validateSoftmax(x, y, causalMask: causalMask)
            let px = try storage(x, "softmax", "x"), py = try storage(y, "softmax", "y")
            ReferenceOps.softmaxRows(px, py, rows: rows, width: width, scale: scale, causalMask: causalMask)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func softmaxRows(_ x: Tensor, into y: Tensor, scale: Float, causalMask: Bool) throws {
        try measured("softmax") {
            let (rows, width) = try validateSoftmax(x, y, causalMask: causalMask)
            let px = try storage(x, "softmax", "x"), py = try storage(y, "softmax", "y")
            // One C call per chunk of rows: the three passes of a row run back to back on it while
            // it is in the first-level cache, without a call from Swift per row and pass.
            parallelRowRanges(rows, width: width) { range in
                VectorLoops.softmaxRows(
                    px + range.lowerBound * width, py + range.lowerBound * width, rows: range.count, width: width,
                    scale: scale, causalFrom: causalMask ? range.lowerBound : nil)
            }
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func softmaxRows(_ x: Tensor, into y: Tensor, scale: Float, causalMask: Bool) throws {
        let (rows, width) = try validateSoftmax(x, y, causalMask: causalMask)
        guard rows > 0 else { return }
        let buffers: [KernelArgument] = [.buffer(try memory(x, "softmax", "x")), .buffer(try memory(y, "softmax", "y"))]
        let parameters: [KernelArgument] = [.int(Int32(width)), .float(scale), .int(causalMask ? 1 : 0)]
        try launchRows(.softmax, rows: rows, width: width, parameters: parameters, buffers: buffers)
    }
}

// MARK: Bench cases

extension KernelCheck {
    /// GB/s (one read, one write) of attention-score and wide rows.
    static let softmaxBenchCases: [Case] = [("[38400, 50] (64 x 12 heads x 50)", 38400, 50), ("[3200, 768]", 3200, 768)].map {
        name, rows, width in
        timed("softmax", name, .bytes(Double(rows * width * 8))) { context in
            let x = try context.random([rows, width]), y = try context.backend.makeTensor(shape: [rows, width])
            return { try context.backend.softmaxRows(x, into: y, scale: 0.125, causalMask: false) }
        }
    }
}

// MARK: Check cases

extension KernelCheck {
    /// Widths 1, 50, 77 (causal), 513, 768; scales 0.125 to 100.
    static let softmaxCases: [Case] = {
        var cases: [Case] = []
        for (rows, width, scale, causal) in [(1, 1, Float(1), false), (7, 50, 1, false), (600, 50, 0.125, false),
                                             (8 * 77, 77, 0.125, true), (3, 513, 1, false), (5, 768, 100, false)] {
            cases.append(rowCase("softmax", rows: rows, width: width, atol: 1e-6, rtol: 1e-4,
                                 label: "[\(rows), \(width)] scale \(scale)\(causal ? " causal" : "")") { backend, x, y, _ in
                try backend.softmaxRows(x, into: y, scale: scale, causalMask: causal)
            })
        }
        return cases
    }()
}
