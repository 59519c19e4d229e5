// =================================================================================================
// Normalize.swift: one place for the operation family of Kernels/normalize.cl
//
// Row L2 normalisation and cosine similarity (`Kernels/normalize.cl`, then the matrix product).
// Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run by
// `ReferenceBackend`), the CPU fast path, the OpenCL launch, its `kernels bench` figures (where it
// has some), and the `kernels check` cases. Adding an operation to the family means editing this
// file, its kernel and the `Backend` protocol.
// =================================================================================================

import Foundation

// MARK: Validation

func validateCosine(_ a: Tensor, _ b: Tensor, _ c: Tensor) throws -> (m: Int, n: Int, width: Int) {
    let (m, width) = try rowsAndWidth(a, operation: "cosineSimilarity", name: "A")
    let (n, widthB) = try rowsAndWidth(b, operation: "cosineSimilarity", name: "B")
    guard width == widthB else {
        throw ComputeError.shapeMismatch(operation: "cosineSimilarity", tensor: "B", expected: "[n, \(width)]", actual: b.shape)
    }
    guard c.count == m * n else {
        throw ComputeError.shapeMismatch(operation: "cosineSimilarity", tensor: "C", expected: "[\(m), \(n)]", actual: c.shape)
    }
    return (m, n, width)
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func l2NormalizeRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for row in 0..<rows {
            var sum = 0.0
            for column in 0..<width { sum += Double(x[row * width + column]) * Double(x[row * width + column]) }
            let inverse = sum > 0 ? 1 / sum.squareRoot() : 0
            for column in 0..<width { y[row * width + column] = Float(Double(x[row * width + column]) * inverse) }
        }
    }

    static func cosineSimilarity(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, width: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var dot = 0.0, normA = 0.0, normB = 0.0
                for t in 0..<width {
                    let valueA = Double(a[i * width + t]), valueB = Double(b[j * width + t])
                    dot += valueA * valueB
                    normA += valueA * valueA
                    normB += valueB * valueB
                }
                let denominator = normA.squareRoot() * normB.squareRoot()
                c[i * n + j] = denominator > 0 ? Float(dot / denominator) : 0
            }
        }
    }
}

extension ReferenceBackend {
    public func l2NormalizeRows(_ x: Tensor, into y: Tensor) throws {
        try measured("l2Normalize") {
            let (rows, width) = try rowsAndWidth(x, operation: "l2Normalize", name: "x")
            try requireSameCount(x, y, operation: "l2Normalize")
            let px = try storage(x, "l2Normalize", "x"), py = try storage(y, "l2Normalize", "y")
            ReferenceOps.l2NormalizeRows(px, py, rows: rows, width: width)
        }
    }

    public func cosineSimilarity(_ a: Tensor, _ b: Tensor, into c: Tensor) throws {
        try measured("cosineSimilarity") {
            let (m, n, width) = try validateCosine(a, b, c)
            let pa = try storage(a, "cosineSimilarity", "A"), pb = try storage(b, "cosineSimilarity", "B")
            let pc = try storage(c, "cosineSimilarity", "C")
            ReferenceOps.cosineSimilarity(pa, pb, pc, m: m, n: n, width: width)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func l2NormalizeRows(_ x: Tensor, into y: Tensor) throws {
        try measured("l2Normalize") {
            let (rows, width) = try rowsAndWidth(x, operation: "l2Normalize", name: "x")
            try requireSameCount(x, y, operation: "l2Normalize")
            let px = try storage(x, "l2Normalize", "x"), py = try storage(y, "l2Normalize", "y")
            parallelRows(rows, width: width) { row in
                let input = px + row * width, output = py + row * width
                var squares: Float = 0
                for column in 0..<width { squares += input[column] * input[column] }
                let inverse: Float = squares > 0 ? 1 / squares.squareRoot() : 0
                for column in 0..<width { output[column] = input[column] * inverse }
            }
        }
    }

    public func cosineSimilarity(_ a: Tensor, _ b: Tensor, into c: Tensor) throws {
        try measured("cosineSimilarity") {
            let (m, n, width) = try validateCosine(a, b, c)
            // Refuse foreign tensors before allocating.
            _ = try (storage(a, "cosineSimilarity", "A"), storage(b, "cosineSimilarity", "B"), storage(c, "cosineSimilarity", "C"))
            // Normalise copies of the rows, then one product: C = normalise(A) · normalise(B)ᵀ.
            let normalizedA = try makeTensor(shape: [m, width]), normalizedB = try makeTensor(shape: [n, width])
            try l2NormalizeRows(a, into: normalizedA)
            try l2NormalizeRows(b, into: normalizedB)
            try matmul(normalizedA, normalizedB, into: try c.reshaped([m, n]), options: MatmulOptions(transposeB: true))
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func l2NormalizeRows(_ x: Tensor, into y: Tensor) throws {
        let (rows, width) = try rowsAndWidth(x, operation: "l2Normalize", name: "x")
        try requireSameCount(x, y, operation: "l2Normalize")
        guard rows > 0 else { return }
        try launchRows(.l2Normalize, rows: rows, width: width, parameters: [.int(Int32(width))], buffers: [
            .buffer(try memory(x, "l2Normalize", "x")), .buffer(try memory(y, "l2Normalize", "y")),
        ])
    }

    public func cosineSimilarity(_ a: Tensor, _ b: Tensor, into c: Tensor) throws {
        let (m, n, width) = try validateCosine(a, b, c)
        let normalizedA = try makeTensor(shape: [m, width]), normalizedB = try makeTensor(shape: [n, width])
        try l2NormalizeRows(a, into: normalizedA)
        try l2NormalizeRows(b, into: normalizedB)
        try matmul(normalizedA, normalizedB, into: try c.reshaped([m, n]), options: MatmulOptions(transposeB: true))
    }
}

// MARK: Check cases

extension KernelCheck {
    /// L2 normalisation and cosine similarity at odd sizes.
    static let normalizeCases: [Case] = {
        var cases: [Case] = []
        for (rows, width) in [(1, 7), (50, 512), (197, 768)] {
            cases.append(rowCase("l2Normalize", rows: rows, width: width) { backend, x, y, _ in
                try backend.l2NormalizeRows(x, into: y)
            })
        }
        for (m, n, width) in [(1, 1, 1), (7, 13, 512), (50, 100, 768), (197, 10, 513)] {
            cases.append(Case(operation: "cosineSimilarity", shape: "[\(m), \(width)] vs [\(n), \(width)]",
                              absoluteTolerance: 1e-5, relativeTolerance: 1e-4, run: { backend, inputs in
                let a = try backend.upload(inputs[0], shape: [m, width]), b = try backend.upload(inputs[1], shape: [n, width])
                let c = try poisoned(backend, [m, n])
                try backend.cosineSimilarity(a, b, into: c)
                return try backend.read(c)
            }, inputCounts: [m * width, n * width], inputRange: -1...1))
        }
        return cases
    }()
}
