// =================================================================================================
// MatrixProduct.swift: one place for the operation family of Kernels/matmul.cl
//
// Batched matrix product with transposes, bias, β accumulation and a fused activation (`Kernels/matmul.cl`, and `pack_panels` of `Kernels/layout.cl`).
// Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run by
// `ReferenceBackend`), the CPU fast path, the OpenCL launch, its `kernels bench` figures (where it
// has some), and the `kernels check` cases. Adding an operation to the family means editing this
// file, its kernel and the `Backend` protocol.
// =================================================================================================

import CBLAS
import COpenCL
import Dispatch
import Foundation

// MARK: Validation

/// The sizes of one batched matrix product after validation.
struct MatmulGeometry: Equatable {
    var batch: Int
    var m: Int
    var n: Int
    var k: Int
    /// Element distance between consecutive matrices of A (0 when A is shared by the batch).
    var strideA: Int
    /// Element distance between consecutive matrices of B (0 when B is shared by the batch).
    var strideB: Int
}

/// Splits a shape into (batch, rows, columns): the last two dimensions are the matrix.
private func matrixDimensions(_ shape: [Int]) -> (batch: Int, rows: Int, columns: Int)? {
    guard shape.count >= 2 else { return nil }
    return (Array(shape.dropLast(2)).elementCount, shape[shape.count - 2], shape[shape.count - 1])
}

func validateMatmul(_ a: Tensor, _ b: Tensor, bias: Tensor?, _ c: Tensor, _ options: MatmulOptions) throws -> MatmulGeometry {
    let operation = "matmul"
    guard let dimsA = matrixDimensions(a.shape) else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "A", expected: "at least 2 dimensions", actual: a.shape)
    }
    guard let dimsB = matrixDimensions(b.shape) else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "B", expected: "at least 2 dimensions", actual: b.shape)
    }
    guard let dimsC = matrixDimensions(c.shape) else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "C", expected: "at least 2 dimensions", actual: c.shape)
    }
    let (m, kA) = options.transposeA ? (dimsA.columns, dimsA.rows) : (dimsA.rows, dimsA.columns)
    let (kB, n) = options.transposeB ? (dimsB.columns, dimsB.rows) : (dimsB.rows, dimsB.columns)
    guard kA == kB else {
        throw ComputeError.shapeMismatch(
            operation: operation, tensor: "B", expected: "inner dimension \(kA) to match A \(a.shape)", actual: b.shape)
    }
    guard dimsC.rows == m, dimsC.columns == n else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "C", expected: "[…, \(m), \(n)]", actual: c.shape)
    }
    let batch = dimsC.batch
    guard dimsA.batch == batch || dimsA.batch == 1 else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "A", expected: "batch 1 or \(batch)", actual: a.shape)
    }
    guard dimsB.batch == batch || dimsB.batch == 1 else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "B", expected: "batch 1 or \(batch)", actual: b.shape)
    }
    if let bias, bias.count != n {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "bias", expected: "[\(n)]", actual: bias.shape)
    }
    return MatmulGeometry(
        batch: batch, m: m, n: n, k: kA,
        strideA: dimsA.batch == 1 ? 0 : m * kA,
        strideB: dimsB.batch == 1 ? 0 : kA * n)
}

// MARK: Plain-loop twin

extension ReferenceOps {
    /// See `Backend.matmul`. Buffers are row-major; `a`, `b`, `c` hold whole batches.
    static func matmul(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        _ c: UnsafeMutablePointer<Float>, geometry g: MatmulGeometry, options: MatmulOptions
    ) {
        for batch in 0..<g.batch {
            let baseA = a + batch * g.strideA
            let baseB = b + batch * g.strideB
            let baseC = c + batch * g.m * g.n
            for row in 0..<g.m {
                for column in 0..<g.n {
                    var sum = 0.0
                    for inner in 0..<g.k {
                        let valueA = options.transposeA ? baseA[inner * g.m + row] : baseA[row * g.k + inner]
                        let valueB = options.transposeB ? baseB[column * g.k + inner] : baseB[inner * g.n + column]
                        sum += Double(valueA) * Double(valueB)
                    }
                    var result = Float(sum) * options.alpha
                    if options.beta != 0 { result += options.beta * baseC[row * g.n + column] }
                    if let bias { result += bias[column] }
                    if let kind = options.activation { result = activate(kind, result) }
                    baseC[row * g.n + column] = result
                }
            }
        }
    }
}

extension ReferenceBackend {
    public func matmul(_ a: Tensor, _ b: Tensor, bias: Tensor?, into c: Tensor, options: MatmulOptions) throws {
        try measured("matmul" + (Array(c.shape.dropLast(2)).elementCount > 1 ? " (batched)" : "")) {
            let geometry = try validateMatmul(a, b, bias: bias, c, options)
            let pa = try storage(a, "matmul", "A"), pb = try storage(b, "matmul", "B"), pc = try storage(c, "matmul", "C")
            let pbias = try bias.map { try storage($0, "matmul", "bias") }
            ReferenceOps.matmul(pa, pb, bias: pbias.map { UnsafePointer($0) }, pc, geometry: geometry, options: options)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func matmul(_ a: Tensor, _ b: Tensor, bias: Tensor?, into c: Tensor, options: MatmulOptions) throws {
        try measured("matmul" + (Array(c.shape.dropLast(2)).elementCount > 1 ? " (batched)" : "")) {
            let geometry = try validateMatmul(a, b, bias: bias, c, options)
            let pa = try storage(a, "matmul", "A"), pb = try storage(b, "matmul", "B"), pc = try storage(c, "matmul", "C")
            let pbias = try bias.map { try storage($0, "matmul", "bias") }
            let g = geometry
            guard g.m > 0, g.n > 0 else { return }
            // A shared, untransposed A over the batch is one tall product when B is shared too.
            // One thread pool for everything: OpenBLAS runs single-threaded (its own threads spin
            // after each call and starved the element-wise passes between products), and the
            // products are split here into independent (matrix, row or column block) tasks.
            _ = singleThreadedBLAS
            let cores = WorkerPool.threads
            let blocksPerMatrix = g.batch >= cores || g.m * g.n * g.k < 1 << 18 ? 1 : min(cores, max(g.m, g.n))
            // Every block packs the whole of the operand it shares with the other blocks: row blocks
            // share op(B) (K × N), column blocks share op(A) (M × K), so split the longer side. (The
            // trainer's [256 × 512]·[1000 × 512]ᵀ split by rows packed 2 MiB of keys on every core.)
            let splitColumns = blocksPerMatrix > 1 && g.n > g.m
            let tasks = g.batch * blocksPerMatrix
            let product: (Int) -> Void = { task in
                let batch = task / blocksPerMatrix, block = task % blocksPerMatrix
                let side = splitColumns ? g.n : g.m
                let first = side * block / blocksPerMatrix, count = side * (block + 1) / blocksPerMatrix - first
                guard count > 0 else { return }
                let (firstRow, rows) = splitColumns ? (0, g.m) : (first, count)
                let (firstColumn, columns) = splitColumns ? (first, count) : (0, g.n)
                let baseC = pc + batch * g.m * g.n + firstRow * g.n + firstColumn
                if g.k == 0 {
                    for row in 0..<rows {
                        let line = baseC + row * g.n
                        for column in 0..<columns { line[column] = options.beta == 0 ? 0 : options.beta * line[column] }
                    }
                } else {
                    // Row r of op(A) starts at r·k in A, or at column r when A is stored transposed;
                    // column c of op(B) starts at column c of B, or at c·k when B is stored transposed.
                    let baseA = pa + batch * g.strideA + (options.transposeA ? firstRow : firstRow * g.k)
                    let baseB = pb + batch * g.strideB + (options.transposeB ? firstColumn * g.k : firstColumn)
                    cblas_sgemm(
                        CblasRowMajor,
                        options.transposeA ? CblasTrans : CblasNoTrans,
                        options.transposeB ? CblasTrans : CblasNoTrans,
                        Int32(rows), Int32(columns), Int32(g.k), options.alpha,
                        baseA, Int32(options.transposeA ? g.m : g.k),
                        baseB, Int32(options.transposeB ? g.k : g.n),
                        options.beta, baseC, Int32(g.n))
                }
                for row in 0..<rows {
                    let line = baseC + row * g.n
                    if let pbias {
                        for column in 0..<columns { line[column] += pbias[firstColumn + column] }
                    }
                    // The activation runs on the block this task just wrote, while it is in cache.
                    if let kind = options.activation { Self.activate(kind, line, line, count: columns) }
                }
            }
            // Tasks write disjoint blocks of C.
            WorkerPool.run(tasks, product)
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func matmul(_ a: Tensor, _ b: Tensor, bias: Tensor?, into c: Tensor, options: MatmulOptions) throws {
        let g = try validateMatmul(a, b, bias: bias, c, options)
        guard g.m > 0, g.n > 0, g.batch > 0 else { return }
        let operands = ProductOperands(
            a: try memory(a, "matmul", "A"), b: try memory(b, "matmul", "B"), c: try memory(c, "matmul", "C"),
            bias: try bias.map { try memory($0, "matmul", "bias") } ?? placeholder, hasBias: bias != nil)
        switch matmulVariant {
        case .tiled: try tiledProduct(.matmulTiled, g, b, operands, options)
        case .blocked: try tiledProduct(.matmulBlocked, g, b, operands, options)
        case .packed: try packedProduct(g, b, operands, options)
        }
    }

    /// The buffers of one product: A, B, C and the bias (`placeholder` when there is none).
    struct ProductOperands {
        var a: cl_mem
        var b: cl_mem
        let c: cl_mem
        let bias: cl_mem
        let hasBias: Bool

        /// The arguments every matmul kernel takes before its buffers.
        func scalars(_ g: MatmulGeometry, strideA: Int, strideB: Int, _ options: MatmulOptions) -> [KernelArgument] {
            [.int(Int32(g.m)), .int(Int32(g.n)), .int(Int32(g.k)), .int(Int32(strideA)), .int(Int32(strideB)),
             .float(options.alpha), .float(options.beta), .int(hasBias ? 1 : 0)]
        }
    }

    /// `matmul_tiled` or `matmul_blocked` (the GPU-style kernels), at the largest tile of the
    /// device's table that the device can run.
    private func tiledProduct(
        _ kernel: KernelName, _ g: MatmulGeometry, _ b: Tensor, _ operands: ProductOperands, _ options: MatmulOptions
    ) throws {
        var operands = operands, options = options
        if options.transposeB, let storage = b.storage as? OpenCLStorage, storage.isConstant {
            // A linear layer's [out, in] weight is transposed once and kept with it: the GPU
            // kernels then read every weight row-major along N.
            let batchB = g.strideB == 0 ? 1 : g.batch
            let transposed = try arranged(b, .transposed(batch: batchB, rows: g.n, columns: g.k)) {
                let transposed = try makeTensor(shape: [batchB, g.k, g.n])
                try permute(try b.prefix(shape: [batchB, g.n, g.k]), permutation: [0, 2, 1], into: transposed)
                return transposed
            }
            operands.b = try memory(transposed, "matmul", "B transposed")
            options.transposeB = false
        }
        // Vector loads of the blocked kernel need tiles of at least 4 work blocks.
        let (work, tileK, preferred, smallest) = kernel == .matmulTiled
            ? (tuning.matmulWork, tuning.matmulTileK, tuning.matmulTile, tuning.matmulWork)
            : (tuning.blockedWork, tuning.blockedTileK, tuning.blockedTile, 4 * tuning.blockedWork)
        func defines(tile: Int) -> [KernelDefine: Int] {
            var defines: [KernelDefine: Int] = [
                .tileM: tile, .tileN: tile, .tileK: tileK, .workM: work, .workN: work,
                .transposeA: options.transposeA ? 1 : 0, .transposeB: options.transposeB ? 1 : 0,
                .activation: KernelDefine.activationCode(options.activation)]
            if kernel == .matmulBlocked { defines[.padding] = tuning.blockedPadding }
            return defines
        }
        let tile = try fittedTile(kernel, work: work, preferred: preferred, smallest: smallest, defines: defines)
        let threads = tile / work
        try launch(kernel, defines: defines(tile: tile),
                   global: [roundUp(g.n, tile) / work, roundUp(g.m, tile) / work, g.batch], local: [threads, threads, 1],
                   arguments: operands.scalars(g, strideA: g.strideA, strideB: g.strideB, options)
                       + [.buffer(operands.a), .buffer(operands.b), .buffer(operands.bias), .buffer(operands.c)])
    }

    /// The device's table gives the tile; a smaller one when the kernel cannot run
    /// (tile / work)² work-items per group on this device (CL_KERNEL_WORK_GROUP_SIZE).
    /// A build failure counts as "does not fit" (some drivers refuse to build a required
    /// work-group size they cannot run) but is kept: when no tile fits, the last build
    /// error, with its log, is what is thrown, not a bare "no tile fits".
    private func fittedTile(
        _ kernel: KernelName, work: Int, preferred: Int, smallest: Int, defines: (Int) -> [KernelDefine: Int]
    ) throws -> Int {
        var buildFailure: ComputeError? = nil
        guard let tile = try fitted(KernelKey(kernel, defines(preferred)), { tile in
            let threads = (tile / work) * (tile / work)
            do {
                if try kernelWorkGroupSize(KernelKey(kernel, defines(tile)), buildFailureFits: false) >= threads { return tile }
            } catch let error as ComputeError {
                guard case .programBuildFailed = error else { throw error }
                buildFailure = error
            }
            return tile / 2 >= smallest ? tile / 2 : nil
        }) else {
            if let buildFailure { throw buildFailure }
            throw ComputeError.invalidArgument(operation: "matmul", message: "no tile of \(kernel) fits the work-group limits of \(device.name)")
        }
        return tile
    }

    /// `matmul_packed` (the CPU-style kernel) over panels of A and B packed first; a weight's
    /// panels are packed once and kept with it.
    private func packedProduct(_ g: MatmulGeometry, _ b: Tensor, _ operands: ProductOperands, _ options: MatmulOptions) throws {
        let vectorWidth = tuning.packedVectorWidth
        let rowsPerItem = vectorWidth == 16 ? 12 : (vectorWidth == 8 ? 6 : 4), vectors = 2
        let panelWidth = vectorWidth * vectors
        let rowPanels = (g.m + rowsPerItem - 1) / rowsPerItem, columnPanels = (g.n + panelWidth - 1) / panelWidth
        let batchA = g.strideA == 0 ? 1 : g.batch, batchB = g.strideB == 0 ? 1 : g.batch
        let packedA = try makeTensor(shape: [batchA, rowPanels * rowsPerItem, g.k])
        // op(A)ᵀ is the [K][M] view of A; op(B) is the [K][N] view of B.
        try packPanels(operands.a, inner: g.k, outer: g.m, panelWidth: rowsPerItem,
                       strideInner: options.transposeA ? g.m : 1, strideOuter: options.transposeA ? 1 : g.k,
                       batch: batchA, into: packedA)
        let (strideInner, strideOuter) = options.transposeB ? (1, g.k) : (g.n, 1)
        let packedB = try arranged(b, .panels(inner: g.k, outer: g.n, panelWidth: panelWidth, strideInner: strideInner,
                                              strideOuter: strideOuter, batch: batchB)) {
            let packed = try makeTensor(shape: [batchB, columnPanels * panelWidth, g.k])
            try packPanels(operands.b, inner: g.k, outer: g.n, panelWidth: panelWidth, strideInner: strideInner,
                           strideOuter: strideOuter, batch: batchB, into: packed)
            return packed
        }
        try launch(.matmulPacked,
                   defines: [.workM: rowsPerItem, .vectors: vectors, .vectorWidth: vectorWidth,
                             .activation: KernelDefine.activationCode(options.activation)],
                   global: [columnPanels, rowPanels, g.batch], local: [1, 1, 1],
                   arguments: operands.scalars(g, strideA: g.strideA == 0 ? 0 : packedA.count / batchA,
                                               strideB: g.strideB == 0 ? 0 : packedB.count / batchB, options)
                       + [.buffer(try memory(packedA, "matmul", "packed A")), .buffer(try memory(packedB, "matmul", "packed B")),
                          .buffer(operands.bias), .buffer(operands.c)])
    }

    /// Packs the `[inner][outer]` view of each batch matrix of `source` (element (k, o) at
    /// `k · strideInner + o · strideOuter`) into panels of `panelWidth` columns of that view.
    private func packPanels(_ source: cl_mem, inner: Int, outer: Int, panelWidth: Int, strideInner: Int, strideOuter: Int,
                            batch: Int, into packed: Tensor) throws {
        // K = 0 leaves nothing to pack (and OpenCL 1.2 drivers reject a zero global size).
        guard inner > 0, outer > 0, batch > 0 else { return }
        try launch(.packPanels, global: [roundUp(outer, panelWidth), inner, batch], local: nil, arguments: [
            .int(Int32(inner)), .int(Int32(outer)), .int(Int32(panelWidth)), .int(Int32(strideInner)), .int(Int32(strideOuter)),
            .int(Int32(inner * outer)), .buffer(source), .buffer(try memory(packed, "matmul", "packed operand")),
        ])
    }
}

// MARK: Bench cases

extension KernelCheck {
    /// The encoder's and the trainer's products (`KernelBenchmark.referenceProductShapes`) and a
    /// batched attention product, in GFLOP/s (2 · m · n · k per product).
    static let matrixProductBenchCases: [Case] = {
        var products: [(String, [Int], [Int], [Int], MatmulOptions)] = [
            ("attention 768 x (50x64 . 64x50)", [768, 50, 64], [768, 50, 64], [768, 50, 50], MatmulOptions(transposeB: true)),
        ]
        for shape in KernelBenchmark.referenceProductShapes {
            let (m, n, k) = (shape.m, shape.n, shape.k)
            products.insert((shape.name, shape.transposeA ? [k, m] : [m, k], shape.transposeB ? [n, k] : [k, n], [m, n],
                             MatmulOptions(transposeA: shape.transposeA, transposeB: shape.transposeB)), at: products.count - 1)
        }
        return products.map { name, shapeA, shapeB, shapeC, options in
            let k = options.transposeB ? shapeB[shapeB.count - 1] : shapeB[shapeB.count - 2]
            return timed("matmul", name, .flops(2.0 * Double(shapeC.elementCount) * Double(k))) { context in
                let a = try context.random(shapeA), b = try context.random(shapeB), c = try context.backend.makeTensor(shape: shapeC)
                return { try context.backend.matmul(a, b, into: c, options: options) }
            }
        }
    }()
}

// MARK: Check cases

extension KernelCheck {
    static func matmulCase(
        batch: Int = 1, m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
        sharedB: Bool = false, bias: Bool = false, beta: Float = 0, alpha: Float = 1, activation: Activation? = nil,
        constantB: Bool = false
    ) -> Case {
        let batchB = sharedB ? 1 : batch
        let shapeA = transposeA ? [batch, k, m] : [batch, m, k]
        let shapeB = transposeB ? [batchB, n, k] : [batchB, k, n]
        var label = "\(batch > 1 ? "\(batch)×" : "")\(m)×\(k)\(transposeA ? "(Aᵀ)" : "") · \(k)×\(n)\(transposeB ? "(Bᵀ)" : "")"
        if sharedB { label += " shared B" }
        if bias { label += " +bias" }
        if beta != 0 { label += " β=\(beta)" }
        if alpha != 1 { label += " α=\(alpha)" }
        if let activation { label += " then \(activation) (fused)" }
        if constantB { label += " B constant, second use" }
        let options = MatmulOptions(transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: beta, activation: activation)
        var counts = [shapeA.elementCount, shapeB.elementCount, n]
        if beta != 0 { counts.append(batch * m * n) }
        return Case(
            operation: "matmul", shape: label, absoluteTolerance: 2e-6 * Float(k) + 1e-5, relativeTolerance: 1e-4,
            run: { backend, inputs in
                let a = try backend.upload(inputs[0], shape: shapeA)
                let b = constantB ? try backend.uploadConstant(inputs[1], shape: shapeB) : try backend.upload(inputs[1], shape: shapeB)
                let biasTensor = bias ? try backend.upload(inputs[2], shape: [n]) : nil
                if constantB {  // the first product rearranges the weight, the checked one reuses it
                    try backend.matmul(a, b, bias: biasTensor, into: try backend.makeTensor(shape: [batch, m, n]), options: options)
                }
                let c: Tensor
                if beta != 0 {
                    c = try backend.upload(inputs[3], shape: [batch, m, n])
                } else {
                    c = try poisoned(backend, [batch, m, n])
                }
                try backend.matmul(a, b, bias: biasTensor, into: c, options: options)
                return try backend.read(c)
            }, inputCounts: counts, inputRange: -1...1)
    }

    /// Products at odd sizes (K no multiple of any tile), every layout, bias, β, and the fused epilogues.
    static let matrixProductCases: [Case] = [
            matmulCase(m: 1, n: 1, k: 1),
            matmulCase(m: 7, n: 13, k: 5),
            matmulCase(m: 77, n: 512, k: 512, transposeB: true, bias: true),
            matmulCase(m: 197, n: 768, k: 513, transposeB: true),
            matmulCase(m: 513, n: 7, k: 768, transposeA: true),
            matmulCase(m: 50, n: 97, k: 33, transposeA: true, transposeB: true),
            matmulCase(batch: 12, m: 50, n: 50, k: 64, transposeB: true, alpha: 0.125),
            matmulCase(batch: 12, m: 50, n: 64, k: 50),
            matmulCase(batch: 3, m: 197, n: 65, k: 129, sharedB: true, bias: true),
            matmulCase(m: 50, n: 768, k: 3072, beta: 1),
            matmulCase(m: 64, n: 100, k: 7, beta: 0.5),
            // The encoder's fused epilogues: residual (β = 1) + bias, and bias + activation.
            matmulCase(m: 50, n: 768, k: 77, transposeB: true, bias: true, beta: 1),
            matmulCase(m: 77, n: 3072, k: 65, transposeB: true, bias: true, activation: .quickGELU),
            matmulCase(m: 13, n: 37, k: 129, bias: true, activation: .gelu),
            matmulCase(batch: 3, m: 19, n: 45, k: 31, transposeA: true, activation: .quickGELU),
            // Weights kept rearranged (packed panels, or transposed for the GPU kernels).
            matmulCase(m: 50, n: 2304, k: 77, transposeB: true, bias: true, constantB: true),
            matmulCase(m: 33, n: 130, k: 65, transposeB: true, beta: 1, constantB: true),
            matmulCase(batch: 3, m: 19, n: 45, k: 31, sharedB: true, activation: .gelu, constantB: true),
            matmulCase(batch: 2, m: 7, n: 13, k: 5, transposeB: true, constantB: true),
        ]
}
