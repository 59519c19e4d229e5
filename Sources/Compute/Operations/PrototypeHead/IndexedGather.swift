// =================================================================================================
// IndexedGather.swift: the `gatherRows` operation of the prototype-head family (Kernels/prototype_head.cl)
//
// Rows of a table gathered by indices that live on the device (integral floats).
// Kernel `gather_rows_indexed`. Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run
// by `ReferenceBackend`), the CPU fast path, the OpenCL launch, and the
// `kernels check` cases. The operation is declared in `TrainingBackend` (TrainerOps.swift).
// =================================================================================================

import Foundation

// MARK: Validation

func validateIndexedGather(_ table: Tensor, indices: Tensor, from start: Int, _ destination: Tensor) throws -> (rows: Int, width: Int) {
    let operation = "gatherRows"
    let (_, width) = try rowsAndWidth(table, operation: operation, name: "table")
    guard destination.shape.last == width else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "destination", expected: "[…, \(width)]", actual: destination.shape)
    }
    let rows = destination.count / width
    guard start >= 0, start + rows <= indices.count else {
        throw ComputeError.invalidArgument(
            operation: operation, message: "indices \(start)..<\(start + rows) outside the \(indices.count) given")
    }
    return (rows, width)
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func gatherRows(
        _ table: UnsafePointer<Float>, indices: UnsafePointer<Float>, from start: Int,
        _ destination: UnsafeMutablePointer<Float>, rows: Int, width: Int
    ) {
        for row in 0..<rows {
            let source = Int(indices[start + row])
            for column in 0..<width { destination[row * width + column] = table[source * width + column] }
        }
    }
}

extension ReferenceBackend {
    public func gatherRows(_ table: Tensor, indices: Tensor, from start: Int, into destination: Tensor) throws {
        try measured("gatherRows (device indices)") {
            let (rows, width) = try validateIndexedGather(table, indices: indices, from: start, destination)
            let pt = try storage(table, "gatherRows", "table"), pi = try storage(indices, "gatherRows", "indices")
            let pd = try storage(destination, "gatherRows", "destination")
            ReferenceOps.gatherRows(pt, indices: pi, from: start, pd, rows: rows, width: width)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func gatherRows(_ table: Tensor, indices: Tensor, from start: Int, into destination: Tensor) throws {
        try measured("gatherRows (device indices)") {
            let (rows, width) = try validateIndexedGather(table, indices: indices, from: start, destination)
            let pt = try storage(table, "gatherRows", "table"), pi = try storage(indices, "gatherRows", "indices")
            let pd = try storage(destination, "gatherRows", "destination")
            // Copies pay for the threads only from about 1 MiB (a training batch's rows stay on one).
            parallelRows(rows, width: width, minimumWork: 1 << 18) { row in
                (pd + row * width).update(from: pt + Int(pi[start + row]) * width, count: width)
            }
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func gatherRows(_ table: Tensor, indices: Tensor, from start: Int, into destination: Tensor) throws {
        let (rows, width) = try validateIndexedGather(table, indices: indices, from: start, destination)
        guard rows * width > 0 else { return }
        try launch(.gatherRowsIndexed, global: [roundUp(rows * width, 64)], local: nil, arguments: [
            .int(Int32(rows)), .int(Int32(width)), .int(Int32(start)),
            .buffer(try memory(table, "gatherRows", "table")), .buffer(try memory(indices, "gatherRows", "indices")),
            .buffer(try memory(destination, "gatherRows", "destination")),
        ])
    }
}

// MARK: Check cases

extension KernelCheck {
    /// `gatherRows` at the sizes of `trainingCases`.
    static let gatherRowsCases: [Case] = {
        var cases: [Case] = []
        cases.append(Case(operation: "gatherRows (indices on device)", shape: "[50, 513] → [37, 513] from 5",
                          absoluteTolerance: 0, relativeTolerance: 0, run: { backend, inputs in
            let table = try backend.upload(inputs[0], shape: [50, 513])
            let indices = try backend.upload(integers(inputs[1], below: 50).map(Float.init), shape: [42])
            let destination = try poisoned(backend, [37, 513])
            try trainingBackend(backend).gatherRows(table, indices: indices, from: 5, into: destination)
            return try backend.read(destination)
        }, inputCounts: [50 * 513, 42], inputRange: -1...1))
        return cases
    }()
}

extension KernelCheck {
    /// `gatherRows` of 29 rows of a 41 × 77 table by device indices from 5, exact.
    static let gatherRowsTestCases: [Case] = [
        Case(operation: "gatherRows", shape: "[41, 77] by 29 indices from 5 (seed 11)", absoluteTolerance: 0, relativeTolerance: 0,
             run: { backend, inputs in
                 let output = try poisoned(backend, [29, 77])
                 try trainingBackend(backend).gatherRows(
                     try backend.upload(inputs[0], shape: [41, 77]), indices: try backend.upload(inputs[1], shape: [34]), from: 5, into: output)
                 return try backend.read(output)
             }, inputCounts: [], inputRange: -1...1, fixedInputs: { rowCopyTestInputs() }),
    ]
}
