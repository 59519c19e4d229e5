// =================================================================================================
// Layout.swift: one place for the operation family of Kernels/layout.cl
//
// Data movement: row gather by host indices, axis permutation, image patches (`Kernels/layout.cl`).
// Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run by
// `ReferenceBackend`), the CPU fast path, the OpenCL launch, its `kernels bench` figures (where it
// has some), and the `kernels check` cases. Adding an operation to the family means editing this
// file, its kernel and the `Backend` protocol.
// =================================================================================================

import COpenCL
import Foundation

// MARK: Validation

func validateGather(_ table: Tensor, indices: [Int32], _ y: Tensor) throws -> (rows: Int, width: Int) {
    let (rows, width) = try rowsAndWidth(table, operation: "gatherRows", name: "table")
    guard y.count == indices.count * width else {
        throw ComputeError.shapeMismatch(operation: "gatherRows", tensor: "output", expected: "[\(indices.count), \(width)]", actual: y.shape)
    }
    if let bad = indices.first(where: { $0 < 0 || Int($0) >= rows }) {
        throw ComputeError.invalidArgument(operation: "gatherRows", message: "index \(bad) outside the table's \(rows) rows")
    }
    return (rows, width)
}

/// Output shape and, for each output axis, the input stride it walks.
func validatePermute(_ x: Tensor, permutation: [Int], _ y: Tensor) throws -> (outputShape: [Int], inputStrides: [Int]) {
    let rank = x.rank
    guard rank <= 6, permutation.count == rank, Set(permutation) == Set(0..<rank) else {
        throw ComputeError.invalidArgument(operation: "permute", message: "permutation \(permutation) is not a reordering of the \(rank) axes of \(x.shape) (at most 6)")
    }
    var strides = [Int](repeating: 1, count: rank)
    for axis in stride(from: rank - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * x.shape[axis + 1] }
    let outputShape = permutation.map { x.shape[$0] }
    guard y.count == x.count, y.shape == outputShape || y.count == outputShape.elementCount else {
        throw ComputeError.shapeMismatch(operation: "permute", tensor: "output", expected: "\(outputShape)", actual: y.shape)
    }
    return (outputShape, permutation.map { strides[$0] })
}

/// The sizes of an `imagePatches` call after validation.
struct PatchGeometry: Equatable {
    var batch: Int
    var channels: Int
    var size: Int
    var patch: Int
    var grid: Int { size / patch }
    var tokens: Int { 1 + grid * grid }
    var patchLength: Int { channels * patch * patch }
}

func validateImagePatches(_ pixels: Tensor, patchSize: Int, _ y: Tensor) throws -> PatchGeometry {
    let operation = "imagePatches"
    guard pixels.rank == 4, pixels.shape[2] == pixels.shape[3], patchSize > 0, pixels.shape[2] % patchSize == 0 else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "pixels",
                                         expected: "[batch, channels, size, size] with size a multiple of \(patchSize)", actual: pixels.shape)
    }
    let g = PatchGeometry(batch: pixels.shape[0], channels: pixels.shape[1], size: pixels.shape[2], patch: patchSize)
    guard y.count == g.batch * g.tokens * g.patchLength else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "output", expected: "[\(g.batch), \(g.tokens), \(g.patchLength)]", actual: y.shape)
    }
    return g
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func imagePatches(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, geometry g: PatchGeometry) {
        for b in 0..<g.batch {
            for token in 0..<g.tokens {
                for c in 0..<g.channels {
                    for py in 0..<g.patch {
                        for px in 0..<g.patch {
                            let target = (b * g.tokens + token) * g.patchLength + (c * g.patch + py) * g.patch + px
                            guard token > 0 else { y[target] = 0; continue }
                            let gy = (token - 1) / g.grid, gx = (token - 1) % g.grid
                            y[target] = x[((b * g.channels + c) * g.size + gy * g.patch + py) * g.size + gx * g.patch + px]
                        }
                    }
                }
            }
        }
    }

    static func gatherRows(_ table: UnsafePointer<Float>, indices: [Int32], _ y: UnsafeMutablePointer<Float>, width: Int) {
        for (row, index) in indices.enumerated() {
            for column in 0..<width { y[row * width + column] = table[Int(index) * width + column] }
        }
    }

    static func permute(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, outputShape: [Int], inputStrides: [Int]) {
        let count = outputShape.elementCount
        var coordinate = [Int](repeating: 0, count: outputShape.count)
        for index in 0..<count {
            var source = 0
            for axis in 0..<outputShape.count { source += coordinate[axis] * inputStrides[axis] }
            y[index] = x[source]
            var axis = outputShape.count - 1
            while axis >= 0 {
                coordinate[axis] += 1
                if coordinate[axis] < outputShape[axis] { break }
                coordinate[axis] = 0
                axis -= 1
            }
        }
    }
}

extension ReferenceBackend {
    public func imagePatches(_ pixels: Tensor, patchSize: Int, into y: Tensor) throws {
        try measured("imagePatches") {
            let g = try validateImagePatches(pixels, patchSize: patchSize, y)
            ReferenceOps.imagePatches(try storage(pixels, "imagePatches", "pixels"), try storage(y, "imagePatches", "output"), geometry: g)
        }
    }

    public func gatherRows(_ table: Tensor, indices: [Int32], into y: Tensor) throws {
        try measured("gatherRows") {
            let (_, width) = try validateGather(table, indices: indices, y)
            let pt = try storage(table, "gatherRows", "table"), py = try storage(y, "gatherRows", "output")
            ReferenceOps.gatherRows(pt, indices: indices, py, width: width)
        }
    }

    public func permute(_ x: Tensor, permutation: [Int], into y: Tensor) throws {
        try measured("permute") {
            let (outputShape, inputStrides) = try validatePermute(x, permutation: permutation, y)
            let px = try storage(x, "permute", "x"), py = try storage(y, "permute", "y")
            ReferenceOps.permute(px, py, outputShape: outputShape, inputStrides: inputStrides)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func imagePatches(_ pixels: Tensor, patchSize: Int, into y: Tensor) throws {
        try measured("imagePatches") {
            let g = try validateImagePatches(pixels, patchSize: patchSize, y)
            let source = try storage(pixels, "imagePatches", "pixels"), target = try storage(y, "imagePatches", "output")
            // One row (token) per task: patch rows are copied as runs of `patch` pixels.
            parallelRows(g.batch * g.tokens, width: g.patchLength) { row in
                let b = row / g.tokens, token = row % g.tokens
                let output = target + row * g.patchLength
                guard token > 0 else {
                    output.update(repeating: 0, count: g.patchLength)
                    return
                }
                let gy = (token - 1) / g.grid, gx = (token - 1) % g.grid
                for c in 0..<g.channels {
                    for py in 0..<g.patch {
                        let from = source + ((b * g.channels + c) * g.size + gy * g.patch + py) * g.size + gx * g.patch
                        (output + (c * g.patch + py) * g.patch).update(from: from, count: g.patch)
                    }
                }
            }
        }
    }

    public func gatherRows(_ table: Tensor, indices: [Int32], into y: Tensor) throws {
        try measured("gatherRows") {
            let (_, width) = try validateGather(table, indices: indices, y)
            let pt = try storage(table, "gatherRows", "table"), py = try storage(y, "gatherRows", "output")
            ReferenceOps.gatherRows(pt, indices: indices, py, width: width)
        }
    }

    public func permute(_ x: Tensor, permutation: [Int], into y: Tensor) throws {
        try measured("permute") {
            let (outputShape, inputStrides) = try validatePermute(x, permutation: permutation, y)
            let px = try storage(x, "permute", "x"), py = try storage(y, "permute", "y")
            if outputShape.count < 2 {
                ReferenceOps.permute(px, py, outputShape: outputShape, inputStrides: inputStrides)
                return
            }
            // Walk the output in rows of its last axis; each row is a strided read of the input.
            let width = outputShape[outputShape.count - 1], lastStride = inputStrides[outputShape.count - 1]
            let outer = Array(outputShape.dropLast()), outerStrides = Array(inputStrides.dropLast())
            parallelRows(outer.elementCount, width: width) { row in
                var remainder = row, source = 0
                for axis in stride(from: outer.count - 1, through: 0, by: -1) {
                    source += (remainder % outer[axis]) * outerStrides[axis]
                    remainder /= outer[axis]
                }
                let output = py + row * width
                for column in 0..<width { output[column] = px[source + column * lastStride] }
            }
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func imagePatches(_ pixels: Tensor, patchSize: Int, into y: Tensor) throws {
        let g = try validateImagePatches(pixels, patchSize: patchSize, y)
        let count = g.batch * g.tokens * g.patchLength
        guard count > 0 else { return }
        try launch(.imagePatches, global: [roundUp(count, 64)], arguments: [
            .int(Int32(count)), .int(Int32(g.channels)), .int(Int32(g.size)), .int(Int32(g.patch)),
            .buffer(try memory(pixels, "imagePatches", "pixels")), .buffer(try memory(y, "imagePatches", "output")),
        ])
    }

    public func gatherRows(_ table: Tensor, indices: [Int32], into y: Tensor) throws {
        let (_, width) = try validateGather(table, indices: indices, y)
        guard !indices.isEmpty else { return }
        let indexBuffer = try runtime.makeReadOnlyBuffer(copying: indices)
        defer { clReleaseMemObject(indexBuffer) }  // the driver keeps it alive until the kernel ran
        guard width > 0 else { return }
        // One dimension over the output's elements: GPU grids cap dimensions 1 and 2 at 65 535 groups.
        try launch(.gatherRows, global: [roundUp(indices.count * width, 64)], local: nil, arguments: [
            .int(Int32(indices.count)), .int(Int32(width)), .buffer(try memory(table, "gatherRows", "table")), .buffer(indexBuffer),
            .buffer(try memory(y, "gatherRows", "output")),
        ])
    }

    public func permute(_ x: Tensor, permutation: [Int], into y: Tensor) throws {
        let (outputShape, inputStrides) = try validatePermute(x, permutation: permutation, y)
        let count = x.count
        guard count > 0 else { return }
        let padding = 6 - outputShape.count
        let sizes = [Int](repeating: 1, count: padding) + outputShape
        let strides = [Int](repeating: 0, count: padding) + inputStrides
        try launch(.permute, global: [roundUp(count, 64)], arguments:
            [.int(Int32(count))] + sizes.map { .int(Int32($0)) } + strides.map { .int(Int32($0)) }
            + [.buffer(try memory(x, "permute", "x")), .buffer(try memory(y, "permute", "y"))])
    }
}

// MARK: Check cases

extension KernelCheck {
    /// Row gathers, permutations of up to 6 axes, image patches.
    static let layoutCases: [Case] = {
        var cases: [Case] = []
        for (tableRows, width, count) in [(1000, 512, 77), (50, 768, 7), (3, 1, 5)] {
            cases.append(Case(operation: "gatherRows", shape: "[\(tableRows), \(width)] → [\(count), \(width)]",
                              absoluteTolerance: 0, relativeTolerance: 0, run: { backend, inputs in
                let table = try backend.upload(inputs[0], shape: [tableRows, width])
                // Indices derived from the random input so that every run draws fresh ones.
                let indices = inputs[1].map { Int32((($0 + 1) / 2 * Float(tableRows - 1)).rounded()) }
                let y = try poisoned(backend, [count, width])
                try backend.gatherRows(table, indices: indices, into: y)
                return try backend.read(y)
            }, inputCounts: [tableRows * width, count], inputRange: -1...1))
        }
        for (shape, permutation) in [([2, 50, 12, 64], [0, 2, 1, 3]), ([2, 3, 7, 4, 7, 4], [0, 2, 4, 1, 3, 5]),
                                     ([513, 7], [1, 0]), ([3, 77, 8, 64], [0, 2, 1, 3]), ([5], [0])] {
            cases.append(Case(operation: "permute", shape: "\(shape) by \(permutation)", absoluteTolerance: 0, relativeTolerance: 0,
                              run: { backend, inputs in
                let x = try backend.upload(inputs[0], shape: shape)
                let y = try poisoned(backend, permutation.map { shape[$0] })
                try backend.permute(x, permutation: permutation, into: y)
                return try backend.read(y)
            }, inputCounts: [shape.elementCount], inputRange: -1...1))
        }
        for (batch, channels, size, patch) in [(2, 3, 64, 32), (3, 2, 15, 5), (1, 1, 1, 1)] {
            let grid = size / patch, tokens = 1 + grid * grid, length = channels * patch * patch
            cases.append(Case(operation: "imagePatches", shape: "[\(batch), \(channels), \(size), \(size)] patch \(patch)",
                              absoluteTolerance: 0, relativeTolerance: 0, run: { backend, inputs in
                let pixels = try backend.upload(inputs[0], shape: [batch, channels, size, size])
                let y = try poisoned(backend, [batch, tokens, length])
                try backend.imagePatches(pixels, patchSize: patch, into: y)
                return try backend.read(y)
            }, inputCounts: [batch * channels * size * size], inputRange: -1...1))
        }
        return cases
    }()
}
