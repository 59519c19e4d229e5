// =================================================================================================
// Elementwise.swift: one place for the operation family of Kernels/elementwise.cl
//
// Element-wise activation, addition (with broadcast) and scaling (`Kernels/elementwise.cl`).
// Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run by
// `ReferenceBackend`), the CPU fast path, the OpenCL launch, its `kernels bench` figures (where it
// has some), and the `kernels check` cases. Adding an operation to the family means editing this
// file, its kernel and the `Backend` protocol.
// =================================================================================================

import Foundation

// MARK: Validation

func validateAdd(_ a: Tensor, _ b: Tensor, _ c: Tensor) throws {
    try requireSameCount(a, c, operation: "add")
    guard b.count > 0, a.count % b.count == 0 else {
        throw ComputeError.shapeMismatch(operation: "add", tensor: "b", expected: "a block whose size divides \(a.count) (A is \(a.shape))", actual: b.shape)
    }
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func activation(_ kind: Activation, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for index in 0..<count { y[index] = activate(kind, x[index]) }
    }

    static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, count: Int, blockCount: Int) {
        for index in 0..<count { c[index] = a[index] + b[index % blockCount] }
    }

    static func scale(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, factor: Float) {
        for index in 0..<count { y[index] = factor * x[index] }
    }

    /// One element of `activation`, in double precision.
    static func activate(_ kind: Activation, _ x: Float) -> Float {
        let value = Double(x)
        switch kind {
        case .quickGELU: return Float(value / (1 + exp(-1.702 * value)))
        // erfc(−x/√2) = 1 + erf(x/√2), without the cancellation that loses the negative tail.
        case .gelu: return Float(0.5 * value * erfc(-value / 2.0.squareRoot()))
        case .relu: return Float(max(value, 0))
        }
    }
}

extension ReferenceBackend {
    public func activation(_ kind: Activation, _ x: Tensor, into y: Tensor) throws {
        try measured(kind.rawValue) {
            try requireSameCount(x, y, operation: "activation")
            let px = try storage(x, "activation", "x"), py = try storage(y, "activation", "y")
            ReferenceOps.activation(kind, px, py, count: x.count)
        }
    }

    public func add(_ a: Tensor, _ b: Tensor, into c: Tensor) throws {
        try measured("add") {
            try validateAdd(a, b, c)
            let pa = try storage(a, "add", "a"), pb = try storage(b, "add", "b"), pc = try storage(c, "add", "c")
            ReferenceOps.add(pa, pb, pc, count: a.count, blockCount: b.count)
        }
    }

    public func scale(_ x: Tensor, by factor: Float, into y: Tensor) throws {
        try measured("scale") {
            try requireSameCount(x, y, operation: "scale")
            let px = try storage(x, "scale", "x"), py = try storage(y, "scale", "y")
            ReferenceOps.scale(px, py, count: x.count, factor: factor)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func activation(_ kind: Activation, _ x: Tensor, into y: Tensor) throws {
        try measured(kind.rawValue) {
            try requireSameCount(x, y, operation: "activation")
            let px = try storage(x, "activation", "x"), py = try storage(y, "activation", "y")
            parallelChunks(x.count) { range in
                Self.activate(kind, px + range.lowerBound, py + range.lowerBound, count: range.count)
            }
        }
    }

    public func add(_ a: Tensor, _ b: Tensor, into c: Tensor) throws {
        try measured("add") {
            try validateAdd(a, b, c)
            let pa = try storage(a, "add", "a"), pb = try storage(b, "add", "b"), pc = try storage(c, "add", "c")
            let block = b.count
            parallelRows(a.count / block, width: block) { row in
                let left = pa + row * block, output = pc + row * block
                for index in 0..<block { output[index] = left[index] + pb[index] }
            }
        }
    }

    public func scale(_ x: Tensor, by factor: Float, into y: Tensor) throws {
        try measured("scale") {
            try requireSameCount(x, y, operation: "scale")
            let px = try storage(x, "scale", "x"), py = try storage(y, "scale", "y")
            parallelChunks(x.count) { range in for index in range { py[index] = factor * px[index] } }
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func activation(_ kind: Activation, _ x: Tensor, into y: Tensor) throws {
        try requireSameCount(x, y, operation: "activation")
        let count = x.count
        guard count > 0 else { return }
        try launch(.activation(kind), global: [roundUp(count, 64)], arguments: [
            .int(Int32(count)), .buffer(try memory(x, "activation", "x")), .buffer(try memory(y, "activation", "y")),
        ])
    }

    public func add(_ a: Tensor, _ b: Tensor, into c: Tensor) throws {
        try validateAdd(a, b, c)
        let count = a.count
        guard count > 0 else { return }
        try launch(.add, global: [roundUp(count, 64)], arguments: [
            .int(Int32(count)), .int(Int32(b.count)),
            .buffer(try memory(a, "add", "a")), .buffer(try memory(b, "add", "b")), .buffer(try memory(c, "add", "c")),
        ])
    }

    public func scale(_ x: Tensor, by factor: Float, into y: Tensor) throws {
        try requireSameCount(x, y, operation: "scale")
        let count = x.count
        guard count > 0 else { return }
        try launch(.scale, global: [roundUp(count, 64)], arguments: [
            .int(Int32(count)), .float(factor), .buffer(try memory(x, "scale", "x")), .buffer(try memory(y, "scale", "y")),
        ])
    }
}

// MARK: Bench cases

extension KernelCheck {
    /// GB/s (one read, one write) of the activations over the MLP's hidden layer.
    static let elementwiseBenchCases: [Case] = [Activation.quickGELU, .gelu].map { kind in
        let rows = 3200, width = 3072
        return timed(kind.rawValue, "[\(rows), \(width)] (64 x 50 tokens, MLP)", .bytes(Double(rows * width * 8))) { context in
            let x = try context.random([rows, width]), y = try context.backend.makeTensor(shape: [rows, width])
            return { try context.backend.activation(kind, x, into: y) }
        }
    }
}

// MARK: Check cases

extension KernelCheck {
    /// Every activation, addition with and without broadcast, scaling.
    static let elementwiseCases: [Case] = {
        var cases: [Case] = []
        for kind in Activation.allCases {
            for (rows, width) in [(1, 7), (3, 513), (50, 3072)] {
                cases.append(rowCase(kind.rawValue, rows: rows, width: width, range: -6...6, atol: 1e-6, rtol: 1e-5) { backend, x, y, _ in
                    try backend.activation(kind, x, into: y)
                })
            }
        }
        for (rows, width, broadcast) in [(1, 513, false), (197, 768, true), (77, 512, false)] {
            cases.append(rowCase("add", rows: rows, width: width, atol: 1e-6, rtol: 1e-6,
                                 label: "[\(rows), \(width)] + \(broadcast ? "[\(width)]" : "[\(rows), \(width)]")",
                                 extraCounts: [broadcast ? width : rows * width]) { backend, x, y, inputs in
                let b = try backend.upload(inputs[1], shape: broadcast ? [width] : [rows, width])
                try backend.add(x, b, into: y)
            })
        }
        cases.append(rowCase("scale", rows: 77, width: 513, atol: 1e-6, rtol: 1e-6) { backend, x, y, _ in
            try backend.scale(x, by: -0.37, into: y)
        })
        return cases
    }()
}
