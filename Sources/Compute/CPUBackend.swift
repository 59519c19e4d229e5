import CBLAS
import Dispatch
import Foundation

/// Host memory for `CPUBackend` tensors.
final class CPUStorage: TensorStorage, @unchecked Sendable {
    // @unchecked: the pointer is written only through backend operations, whose callers
    // order their own reads and writes, as with device memory.
    let pointer: UnsafeMutablePointer<Float>
    let capacity: Int
    let owner: ObjectIdentifier

    init(capacity: Int, owner: ObjectIdentifier) {
        self.pointer = .allocate(capacity: max(capacity, 1))
        self.capacity = capacity
        self.owner = owner
    }

    deinit { pointer.deallocate() }
}

/// Runs every operation on the host: OpenBLAS `cblas_sgemm` for matrix products and
/// vectorisable loops, split across cores, for the rest (`.fast`), or the plain-loop twin
/// (`.reference`) that tests and `kernels check` compare every other implementation with.
public final class CPUBackend: Backend {
    /// Which implementation the backend runs.
    public enum Mode: String, Sendable {
        /// OpenBLAS and vectorised loops.
        case fast
        /// `ReferenceOps`, the plain-loop twin.
        case reference
    }

    public let mode: Mode

    public init(mode: Mode = .fast) {
        self.mode = mode
    }

    public var name: String { mode == .fast ? "cpu" : "cpu-reference" }

    public var deviceDescription: String {
        mode == .fast
            ? "CPU (\(ProcessInfo.processInfo.activeProcessorCount) cores, \(BLASInfo.current.summary))"
            : "CPU plain-loop reference"
    }

    // MARK: Memory

    public func makeTensor(shape: [Int]) throws -> Tensor {
        let count = shape.elementCount
        guard count >= 0, count < Int.max / 8 else {
            throw ComputeError.allocationFailed(bytes: count &* 4, device: name, reason: "size out of range")
        }
        return try Tensor(shape: shape, storage: CPUStorage(capacity: count, owner: ObjectIdentifier(self)))
    }

    func storage(_ tensor: Tensor, _ operation: String, _ name: String) throws -> UnsafeMutablePointer<Float> {
        guard let storage = tensor.storage as? CPUStorage, storage.owner == ObjectIdentifier(self) else {
            throw ComputeError.foreignTensor(operation: operation, tensor: name, backend: self.name)
        }
        return storage.pointer
    }

    public func write(_ values: [Float], to tensor: Tensor) throws {
        guard values.count == tensor.count else {
            throw ComputeError.shapeMismatch(operation: "write", tensor: "destination", expected: "\(values.count) elements", actual: tensor.shape)
        }
        let pointer = try storage(tensor, "write", "destination")
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    public func read(_ tensor: Tensor) throws -> [Float] {
        let pointer = try storage(tensor, "read", "source")
        return Array(UnsafeBufferPointer(start: pointer, count: tensor.count))
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try requireSameCount(source, destination, operation: "copy")
        let from = try storage(source, "copy", "source"), to = try storage(destination, "copy", "destination")
        to.update(from: from, count: source.count)
    }

    public func fill(_ tensor: Tensor, with value: Float) throws {
        try storage(tensor, "fill", "tensor").update(repeating: value, count: tensor.count)
    }

    public func synchronize() throws {}

    // MARK: Operations

    public func matmul(_ a: Tensor, _ b: Tensor, bias: Tensor?, into c: Tensor, options: MatmulOptions) throws {
        let geometry = try validateMatmul(a, b, bias: bias, c, options)
        let pa = try storage(a, "matmul", "A"), pb = try storage(b, "matmul", "B"), pc = try storage(c, "matmul", "C")
        let pbias = try bias.map { try storage($0, "matmul", "bias") }
        if mode == .reference {
            ReferenceOps.matmul(pa, pb, bias: pbias.map { UnsafePointer($0) }, pc, geometry: geometry, options: options)
            return
        }
        let g = geometry
        guard g.m > 0, g.n > 0 else { return }
        // A shared, untransposed A over the batch is one tall product when B is shared too.
        // One thread pool for everything: OpenBLAS runs single-threaded (its own threads spin
        // after each call and starved the element-wise passes between products), and the
        // products are split here into independent (matrix, row block) tasks.
        _ = singleThreadedBLAS
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let blocksPerMatrix = g.batch >= cores || g.m * g.n * g.k < 1 << 18 ? 1 : min(cores, g.m)
        let tasks = g.batch * blocksPerMatrix
        let product: (Int) -> Void = { task in
            let batch = task / blocksPerMatrix, block = task % blocksPerMatrix
            let firstRow = g.m * block / blocksPerMatrix, rows = g.m * (block + 1) / blocksPerMatrix - firstRow
            guard rows > 0 else { return }
            let baseC = pc + batch * g.m * g.n + firstRow * g.n
            if g.k == 0 {
                for index in 0..<(rows * g.n) { baseC[index] = options.beta == 0 ? 0 : options.beta * baseC[index] }
            } else {
                // Row r of op(A) starts at r·k in A, or at column r when A is stored transposed.
                let baseA = pa + batch * g.strideA + (options.transposeA ? firstRow : firstRow * g.k)
                cblas_sgemm(
                    CblasRowMajor,
                    options.transposeA ? CblasTrans : CblasNoTrans,
                    options.transposeB ? CblasTrans : CblasNoTrans,
                    Int32(rows), Int32(g.n), Int32(g.k), options.alpha,
                    baseA, Int32(options.transposeA ? g.m : g.k),
                    pb + batch * g.strideB, Int32(options.transposeB ? g.k : g.n),
                    options.beta, baseC, Int32(g.n))
            }
            if let pbias {
                for row in 0..<rows {
                    let line = baseC + row * g.n
                    for column in 0..<g.n { line[column] += pbias[column] }
                }
            }
            // The activation runs on the block this task just wrote, while it is in cache.
            if let kind = options.activation { Self.activate(kind, baseC, baseC, count: rows * g.n) }
        }
        if tasks == 1 {
            product(0)
        } else {
            withoutActuallyEscaping(product) { escapable in
                // Tasks write disjoint blocks of C; the closure only lives for this call.
                nonisolated(unsafe) let product = escapable
                DispatchQueue.concurrentPerform(iterations: tasks) { product($0) }
            }
        }
    }

    public func softmaxRows(_ x: Tensor, into y: Tensor, scale: Float, causalMask: Bool) throws {
        let (rows, width) = try validateSoftmax(x, y, causalMask: causalMask)
        let px = try storage(x, "softmax", "x"), py = try storage(y, "softmax", "y")
        if mode == .reference {
            ReferenceOps.softmaxRows(px, py, rows: rows, width: width, scale: scale, causalMask: causalMask)
            return
        }
        parallelRows(rows, width: width) { row in
            let input = px + row * width, output = py + row * width
            let visible = causalMask ? (row % width) + 1 : width
            var maximum = -Float.infinity
            for column in 0..<visible { maximum = max(maximum, input[column]) }
            maximum *= scale
            if scale < 0 {  // the maximum of scale·x is then scale·min(x)
                var minimum = Float.infinity
                for column in 0..<visible { minimum = min(minimum, input[column]) }
                maximum = scale * minimum
            }
            var sum: Float = 0
            for column in 0..<visible {
                let value = fastExp(scale * input[column] - maximum)
                output[column] = value
                sum += value
            }
            let inverse = 1 / sum
            for column in 0..<visible { output[column] *= inverse }
            for column in visible..<width { output[column] = 0 }
        }
    }

    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float, into y: Tensor) throws {
        let (rows, width) = try validateLayerNorm(x, weight: weight, bias: bias, y)
        let px = try storage(x, "layerNorm", "x"), py = try storage(y, "layerNorm", "y")
        let pw = try storage(weight, "layerNorm", "weight"), pb = try storage(bias, "layerNorm", "bias")
        if mode == .reference {
            ReferenceOps.layerNorm(px, weight: pw, bias: pb, py, rows: rows, width: width, epsilon: epsilon)
            return
        }
        parallelRows(rows, width: width) { row in
            let input = px + row * width, output = py + row * width
            var sum: Float = 0
            for column in 0..<width { sum += input[column] }
            let mean = sum / Float(width)
            var squares: Float = 0
            for column in 0..<width {
                let centered = input[column] - mean
                squares += centered * centered
            }
            let inverse = 1 / (squares / Float(width) + epsilon).squareRoot()
            for column in 0..<width { output[column] = (input[column] - mean) * inverse * pw[column] + pb[column] }
        }
    }

    public func l2NormalizeRows(_ x: Tensor, into y: Tensor) throws {
        let (rows, width) = try rowsAndWidth(x, operation: "l2Normalize", name: "x")
        try requireSameCount(x, y, operation: "l2Normalize")
        let px = try storage(x, "l2Normalize", "x"), py = try storage(y, "l2Normalize", "y")
        if mode == .reference {
            ReferenceOps.l2NormalizeRows(px, py, rows: rows, width: width)
            return
        }
        parallelRows(rows, width: width) { row in
            let input = px + row * width, output = py + row * width
            var squares: Float = 0
            for column in 0..<width { squares += input[column] * input[column] }
            let inverse: Float = squares > 0 ? 1 / squares.squareRoot() : 0
            for column in 0..<width { output[column] = input[column] * inverse }
        }
    }

    public func cosineSimilarity(_ a: Tensor, _ b: Tensor, into c: Tensor) throws {
        let (m, n, width) = try validateCosine(a, b, c)
        let pa = try storage(a, "cosineSimilarity", "A"), pb = try storage(b, "cosineSimilarity", "B")
        let pc = try storage(c, "cosineSimilarity", "C")
        if mode == .reference {
            ReferenceOps.cosineSimilarity(pa, pb, pc, m: m, n: n, width: width)
            return
        }
        // Normalise copies of the rows, then one product: C = normalise(A) · normalise(B)ᵀ.
        let normalizedA = try makeTensor(shape: [m, width]), normalizedB = try makeTensor(shape: [n, width])
        try l2NormalizeRows(a, into: normalizedA)
        try l2NormalizeRows(b, into: normalizedB)
        try matmul(normalizedA, normalizedB, into: try c.reshaped([m, n]), options: MatmulOptions(transposeB: true))
    }

    public func activation(_ kind: Activation, _ x: Tensor, into y: Tensor) throws {
        try requireSameCount(x, y, operation: "activation")
        let px = try storage(x, "activation", "x"), py = try storage(y, "activation", "y")
        if mode == .reference {
            ReferenceOps.activation(kind, px, py, count: x.count)
            return
        }
        parallelChunks(x.count) { range in
            Self.activate(kind, px + range.lowerBound, py + range.lowerBound, count: range.count)
        }
    }

    /// The fast path's activation over `count` elements (`y` may be `x`).
    static func activate(_ kind: Activation, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        switch kind {
        case .quickGELU:
            for index in 0..<count { y[index] = x[index] / (1 + fastExp(-1.702 * x[index])) }
        case .gelu:
            for index in 0..<count { y[index] = 0.5 * x[index] * (1 + erff(x[index] * 0.70710678118654752)) }
        }
    }

    public func add(_ a: Tensor, _ b: Tensor, into c: Tensor) throws {
        try validateAdd(a, b, c)
        let pa = try storage(a, "add", "a"), pb = try storage(b, "add", "b"), pc = try storage(c, "add", "c")
        if mode == .reference {
            ReferenceOps.add(pa, pb, pc, count: a.count, blockCount: b.count)
            return
        }
        let block = b.count
        parallelRows(a.count / block, width: block) { row in
            let left = pa + row * block, output = pc + row * block
            for index in 0..<block { output[index] = left[index] + pb[index] }
        }
    }

    public func scale(_ x: Tensor, by factor: Float, into y: Tensor) throws {
        try requireSameCount(x, y, operation: "scale")
        let px = try storage(x, "scale", "x"), py = try storage(y, "scale", "y")
        if mode == .reference {
            ReferenceOps.scale(px, py, count: x.count, factor: factor)
            return
        }
        parallelChunks(x.count) { range in for index in range { py[index] = factor * px[index] } }
    }

    public func gatherRows(_ table: Tensor, indices: [Int32], into y: Tensor) throws {
        let (_, width) = try validateGather(table, indices: indices, y)
        let pt = try storage(table, "gatherRows", "table"), py = try storage(y, "gatherRows", "output")
        ReferenceOps.gatherRows(pt, indices: indices, py, width: width)
    }

    public func permute(_ x: Tensor, permutation: [Int], into y: Tensor) throws {
        let (outputShape, inputStrides) = try validatePermute(x, permutation: permutation, y)
        let px = try storage(x, "permute", "x"), py = try storage(y, "permute", "y")
        if mode == .reference || outputShape.count < 2 {
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

    public func splitHeads(_ qkv: Tensor, heads: Int, query: Tensor, key: Tensor, value: Tensor) throws {
        let g = try validateSplitHeads(qkv, heads: heads, query, key, value)
        let source = try storage(qkv, "splitHeads", "qkv")
        let outputs = [try storage(query, "splitHeads", "query"), try storage(key, "splitHeads", "key"), try storage(value, "splitHeads", "value")]
        if mode == .reference {
            ReferenceOps.splitHeads(source, outputs, geometry: g)
            return
        }
        // One task per (part, batch, head): a strided gather of headSize-long runs.
        let rows = 3 * g.batch * g.heads
        parallelRows(rows, width: g.tokens * g.headSize) { row in
            let part = row / (g.batch * g.heads), b = (row / g.heads) % g.batch, h = row % g.heads
            let output = outputs[part] + (b * g.heads + h) * g.tokens * g.headSize
            for t in 0..<g.tokens {
                (output + t * g.headSize).update(from: source + ((b * g.tokens + t) * 3 + part) * g.width + h * g.headSize, count: g.headSize)
            }
        }
    }

    // MARK: Parallel loops

    /// Runs `body` for each row, in chunks spread over the cores when the work is large enough
    /// to pay for the threads.
    private func parallelRows(_ rows: Int, width: Int, _ body: (Int) -> Void) {
        let work = rows * max(width, 1)
        let chunks = work < 1 << 15 ? 1 : min(rows, ProcessInfo.processInfo.activeProcessorCount * 4)
        if chunks <= 1 {
            for row in 0..<rows { body(row) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            // The chunks touch disjoint rows; the closure only lives for this call.
            nonisolated(unsafe) let body = escapable
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                for row in (rows * chunk / chunks)..<(rows * (chunk + 1) / chunks) { body(row) }
            }
        }
    }

    private func parallelChunks(_ count: Int, _ body: (Range<Int>) -> Void) {
        let chunks = count < 1 << 15 ? 1 : ProcessInfo.processInfo.activeProcessorCount * 4
        if chunks == 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            // The chunks touch disjoint ranges; the closure only lives for this call.
            nonisolated(unsafe) let body = escapable
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                body((count * chunk / chunks)..<(count * (chunk + 1) / chunks))
            }
        }
    }
}

/// Set once per process: the CPU backend parallelises products itself (see `matmul`).
let singleThreadedBLAS: Void = openblas_set_num_threads(1)

/// What BLAS library the CPU backend links and which kernel set it chose at load time.
public struct BLASInfo: Sendable {
    /// OpenBLAS's core name, e.g. `Haswell`, `SkylakeX` or `Prescott` (the generic fallback).
    public let coreName: String
    /// OpenBLAS's build configuration string.
    public let configuration: String
    /// Threads OpenBLAS uses.
    public let threads: Int

    public static let current: BLASInfo = {
        BLASInfo(
            coreName: openblas_get_corename().map { String(cString: $0) } ?? "unknown",
            configuration: openblas_get_config().map { String(cString: $0) } ?? "unknown",
            threads: ProcessInfo.processInfo.activeProcessorCount)
    }()

    public var summary: String { "OpenBLAS core \(coreName), \(threads) threads (split by the backend)" }

    /// A warning when OpenBLAS runs a generic kernel set on a CPU that has AVX2 or AVX-512,
    /// with the remedy; `nil` when the choice looks right.
    public var fallbackWarning: String? {
        let flags = CPUFeatures.current
        let generic = ["prescott", "katmai", "coppermine", "northwood", "core2", "penryn", "dunnington", "nehalem", "atom", "generic", "unknown"]
        guard generic.contains(coreName.lowercased()), flags.hasAVX2 else { return nil }
        let suggestion = flags.hasAVX512 ? "SkylakeX" : "Haswell"
        return "OpenBLAS chose the generic '\(coreName)' kernels on a CPU with \(flags.hasAVX512 ? "AVX-512" : "AVX2"); "
            + "matmul runs several times slower than it could. Set OPENBLAS_CORETYPE=\(suggestion) before starting upadapter "
            + "(or install an OpenBLAS build that knows this CPU)."
    }
}

/// CPU instruction-set flags read from `/proc/cpuinfo` (Linux).
public struct CPUFeatures: Sendable {
    public let modelName: String
    public let hasAVX2: Bool
    public let hasAVX512: Bool

    public static let current: CPUFeatures = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n")
        let flags = lines.first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        let model = lines.first { $0.hasPrefix("model name") }?.split(separator: ":", maxSplits: 1).last
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        return CPUFeatures(modelName: model, hasAVX2: flags.contains("avx2"), hasAVX512: flags.contains("avx512f"))
    }()
}
