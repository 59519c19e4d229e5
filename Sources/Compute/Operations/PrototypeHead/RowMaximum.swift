// =================================================================================================
// RowMaximum.swift: the `rowMaximum` operation of the prototype-head family (Kernels/prototype_head.cl)
//
// The largest element of every row and its column, or its softmax probability.
// Kernel `row_maximum`. Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run
// by `ReferenceBackend`), the CPU fast path, the OpenCL launch, and the
// `kernels check` cases. The operation is declared in `TrainingBackend` (TrainerOps.swift).
// =================================================================================================

import Foundation

// MARK: Validation

func validateRowMaximum(_ x: Tensor, indices: Tensor, maxima: Tensor) throws -> (rows: Int, width: Int) {
    let (rows, width) = try rowsAndWidth(x, operation: "rowMaximum", name: "x")
    guard indices.count == rows else {
        throw ComputeError.shapeMismatch(operation: "rowMaximum", tensor: "indices", expected: "[\(rows)]", actual: indices.shape)
    }
    guard maxima.count == rows else {
        throw ComputeError.shapeMismatch(operation: "rowMaximum", tensor: "maxima", expected: "[\(rows)]", actual: maxima.shape)
    }
    return (rows, width)
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func rowMaximum(
        _ x: UnsafePointer<Float>, indices: UnsafeMutablePointer<Float>, maxima: UnsafeMutablePointer<Float>,
        rows: Int, width: Int, asProbability: Bool
    ) {
        for row in 0..<rows {
            var best = 0
            for column in 1..<max(width, 1) {
                let value = x[row * width + column], current = x[row * width + best]
                if value > current || (current.isNaN && !value.isNaN) { best = column }
            }
            indices[row] = Float(best)
            maxima[row] = x[row * width + best]
            if asProbability {
                var sum = 0.0
                for column in 0..<width { sum += exp(Double(x[row * width + column]) - Double(maxima[row])) }
                maxima[row] = Float(1 / sum)
            }
        }
    }
}

extension ReferenceBackend {
    public func rowMaximum(_ x: Tensor, indices: Tensor, maxima: Tensor, asProbability: Bool) throws {
        try measured("rowMaximum") {
            let (rows, width) = try validateRowMaximum(x, indices: indices, maxima: maxima)
            let px = try storage(x, "rowMaximum", "x"), pi = try storage(indices, "rowMaximum", "indices")
            let pm = try storage(maxima, "rowMaximum", "maxima")
            ReferenceOps.rowMaximum(px, indices: pi, maxima: pm, rows: rows, width: width, asProbability: asProbability)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func rowMaximum(_ x: Tensor, indices: Tensor, maxima: Tensor, asProbability: Bool) throws {
        try measured("rowMaximum") {
            let (rows, width) = try validateRowMaximum(x, indices: indices, maxima: maxima)
            let px = try storage(x, "rowMaximum", "x"), pi = try storage(indices, "rowMaximum", "indices")
            let pm = try storage(maxima, "rowMaximum", "maxima")
            parallelRows(rows, width: width) { row in
                let line = px + row * width
                var best = 0, bestValue = line[0]
                for column in 1..<max(width, 1) {
                    let value = line[column]
                    if value > bestValue || (bestValue.isNaN && !value.isNaN) {
                        best = column
                        bestValue = value
                    }
                }
                pi[row] = Float(best)
                if asProbability {
                    pm[row] = 1 / VectorLoops.shiftedExponentials(line, nil, count: width, scale: 1, shift: bestValue)
                } else {
                    pm[row] = bestValue
                }
            }
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func rowMaximum(_ x: Tensor, indices: Tensor, maxima: Tensor, asProbability: Bool) throws {
        let (rows, width) = try validateRowMaximum(x, indices: indices, maxima: maxima)
        guard rows > 0 else { return }
        let group = try fittedGroupSize(.rowMaximum, preferred: reductionGroupSize(width: width, limit: tuning.trainerGroupLimit))
        try launch(.rowMaximum, defines: [.groupSize: group], global: [rows * group], local: [group], arguments: [
            .int(Int32(width)), .int(asProbability ? 1 : 0), .buffer(try memory(x, "rowMaximum", "x")),
            .buffer(try memory(indices, "rowMaximum", "indices")), .buffer(try memory(maxima, "rowMaximum", "maxima")),
        ])
    }
}

// MARK: Check cases

extension KernelCheck {
    /// `rowMaximum` at the sizes of `trainingCases`.
    static let rowMaximumCases: [Case] = {
        var cases: [Case] = []
        for (rows, width, asProbability) in [(37, 10, false), (37, 1000, true), (3, 1, true), (100, 513, false)] {
            cases.append(Case(operation: "rowMaximum", shape: "[\(rows), \(width)]\(asProbability ? " as probability" : "")",
                              absoluteTolerance: 1e-6, relativeTolerance: 1e-5, run: { backend, inputs in
                // Rounded values give ties, which must resolve to the lowest column.
                let x = try backend.upload(inputs[0].map { ($0 * 20).rounded() }, shape: [rows, width])
                let indices = try poisoned(backend, [rows]), maxima = try poisoned(backend, [rows])
                try trainingBackend(backend).rowMaximum(x, indices: indices, maxima: maxima, asProbability: asProbability)
                return try backend.read(indices) + backend.read(maxima)
            }, inputCounts: [rows * width], inputRange: -1...1))
        }
        return cases
    }()
}

extension KernelCheck {
    /// `rowMaximum` of few distinct values (ties are common and the lowest column must win, with
    /// NaN in two rows), exact; and as probability, of values in [-30, 30].
    static let rowMaximumTestCases: [Case] = [(37, 11), (6, 1000), (50, 1)].flatMap { rows, width in
        [false, true].map { asProbability in
            Case(operation: "rowMaximum", shape: "[\(rows), \(width)] (seed \(width + (asProbability ? 2 : 1)))\(asProbability ? " as probability" : "")",
                 absoluteTolerance: asProbability ? 1e-6 : 0, relativeTolerance: asProbability ? 1e-5 : 0, run: { backend, inputs in
                     let indices = try poisoned(backend, [rows]), maxima = try poisoned(backend, [rows])
                     try trainingBackend(backend).rowMaximum(
                         try backend.upload(inputs[0], shape: [rows, width]), indices: indices, maxima: maxima, asProbability: asProbability)
                     return try backend.read(indices) + backend.read(maxima)
                 }, inputCounts: [], inputRange: -1...1, fixedInputs: {
                     var generator = SeededGenerator(seed: UInt64(width + (asProbability ? 2 : 1)))
                     if asProbability { return [generator.uniform(count: rows * width, in: -30...30)] }
                     var x = (0..<(rows * width)).map { _ in Float(Int.random(in: 0..<5, using: &generator)) }
                     if width > 2 {
                         x[0] = .nan
                         x[width + 1] = .nan
                     }
                     return [x]
                 })
        }
    }
}
