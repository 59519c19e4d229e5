// =================================================================================================
// CopyRows.swift: the `copyRows` operation of the prototype-head family (Kernels/prototype_head.cl)
//
// Rows `start ..< start + count` of a matrix kept on the device, copied into a batch buffer.
// Kernel `copy_rows`. Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run
// by `ReferenceBackend`), the CPU fast path, the OpenCL launch, and the
// `kernels check` cases. The operation is declared in `TrainingBackend` (TrainerOps.swift).
// =================================================================================================

import Foundation

// MARK: Validation

func validateCopyRows(_ source: Tensor, from start: Int, _ destination: Tensor) throws -> (rows: Int, width: Int) {
    let operation = "copyRows"
    let (sourceRows, width) = try rowsAndWidth(source, operation: operation, name: "source")
    guard destination.shape.last == width else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "destination", expected: "[…, \(width)]", actual: destination.shape)
    }
    let rows = destination.count / width
    guard start >= 0, start + rows <= sourceRows else {
        throw ComputeError.invalidArgument(
            operation: operation, message: "rows \(start)..<\(start + rows) outside the source's \(sourceRows) rows")
    }
    return (rows, width)
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func copyRows(_ source: UnsafePointer<Float>, from start: Int, _ destination: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for row in 0..<rows {
            for column in 0..<width { destination[row * width + column] = source[(start + row) * width + column] }
        }
    }
}

extension ReferenceBackend {
    public func copyRows(_ source: Tensor, from start: Int, into destination: Tensor) throws {
        try measured("copyRows") {
            let (rows, width) = try validateCopyRows(source, from: start, destination)
            let ps = try storage(source, "copyRows", "source"), pd = try storage(destination, "copyRows", "destination")
            ReferenceOps.copyRows(ps, from: start, pd, rows: rows, width: width)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func copyRows(_ source: Tensor, from start: Int, into destination: Tensor) throws {
        try measured("copyRows") {
            let (rows, width) = try validateCopyRows(source, from: start, destination)
            let ps = try storage(source, "copyRows", "source"), pd = try storage(destination, "copyRows", "destination")
            pd.update(from: ps + start * width, count: rows * width)
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func copyRows(_ source: Tensor, from start: Int, into destination: Tensor) throws {
        let (rows, width) = try validateCopyRows(source, from: start, destination)
        guard rows * width > 0 else { return }
        // One dimension over the output's elements: GPU grids cap dimensions 1 and 2 at 65 535 groups.
        try launch(.copyRows, global: [roundUp(rows * width, 64)], local: nil, arguments: [
            .int(Int32(rows)), .int(Int32(width)), .int(Int32(start)),
            .buffer(try memory(source, "copyRows", "source")), .buffer(try memory(destination, "copyRows", "destination")),
        ])
    }
}

// MARK: Check cases

extension KernelCheck {
    /// `copyRows` at the sizes of `trainingCases`.
    static let copyRowsCases: [Case] = {
        var cases: [Case] = []
        cases.append(Case(operation: "copyRows", shape: "[50, 77] rows 11..<48", absoluteTolerance: 0, relativeTolerance: 0,
                          run: { backend, inputs in
            let source = try backend.upload(inputs[0], shape: [50, 77]), destination = try poisoned(backend, [37, 77])
            try trainingBackend(backend).copyRows(source, from: 11, into: destination)
            return try backend.read(destination)
        }, inputCounts: [50 * 77], inputRange: -1...1))
        return cases
    }()
}

extension KernelCheck {
    /// The 41 × 77 table and the 34 indices of the row-copy tests (seed 11), drawn from one generator.
    static func rowCopyTestInputs() -> [[Float]] {
        var generator = SeededGenerator(seed: 11)
        let table = generator.uniform(count: 41 * 77)
        let indices = (0..<34).map { _ in Float(Int.random(in: 0..<41, using: &generator)) }
        return [table, indices]
    }

    /// `copyRows` of rows 5 ..< 34 of a 41 × 77 table, exact.
    static let copyRowsTestCases: [Case] = [
        Case(operation: "copyRows", shape: "[41, 77] rows 5..<34 (seed 11)", absoluteTolerance: 0, relativeTolerance: 0,
             run: { backend, inputs in
                 let output = try poisoned(backend, [29, 77])
                 try trainingBackend(backend).copyRows(try backend.upload(inputs[0], shape: [41, 77]), from: 5, into: output)
                 return try backend.read(output)
             }, inputCounts: [], inputRange: -1...1, fixedInputs: { rowCopyTestInputs() }),
    ]
}
