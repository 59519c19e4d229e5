// =================================================================================================
// Attention.swift: one place for the operation family of Kernels/attention.cl
//
// Multi-head scaled dot-product attention read in place from a fused query/key/value product and
// written token-major: one operation between a transformer layer's Q/K/V product and its output
// product (it replaces a head split, the score product, the softmax, the context product and a
// head merge).
// Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run by
// `ReferenceBackend`), the CPU fast path, the OpenCL launch, its `kernels bench` figures, and the
// `kernels check` cases. Adding an operation to the family means editing this file, its kernel
// and the `Backend` protocol.
// =================================================================================================

import CBLAS
import Foundation

// MARK: Validation

/// The sizes of one `attention` call after validation.
struct AttentionGeometry: Equatable {
    var batch: Int
    var tokens: Int
    var heads: Int
    var headSize: Int
    var width: Int { heads * headSize }
}

func validateAttention(_ queryKeyValue: Tensor, heads: Int, _ y: Tensor) throws -> AttentionGeometry {
    let operation = "attention"
    let shape = queryKeyValue.shape
    guard shape.count == 3, shape[2] % 3 == 0 else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "queryKeyValue", expected: "[batch, tokens, 3 · width]", actual: shape)
    }
    let width = shape[2] / 3
    guard heads > 0, width % heads == 0, width > 0 else {
        throw ComputeError.invalidArgument(operation: operation, message: "\(heads) heads do not divide the width \(width)")
    }
    guard y.shape == [shape[0], shape[1], width] else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "y", expected: "[\(shape[0]), \(shape[1]), \(width)]", actual: y.shape)
    }
    return AttentionGeometry(batch: shape[0], tokens: shape[1], heads: heads, headSize: width / heads)
}

// MARK: Plain-loop twin

extension ReferenceOps {
    /// See `Backend.attention`: scores, a two-pass softmax and the weighted sum, in `Double`.
    static func attention(_ qkv: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, geometry g: AttentionGeometry,
                          scale: Float, causalMask: Bool) {
        let width = g.width, rowWidth = 3 * width
        for b in 0..<g.batch {
            let sequence = qkv + b * g.tokens * rowWidth
            for h in 0..<g.heads {
                for t in 0..<g.tokens {
                    let visible = causalMask ? t + 1 : g.tokens
                    let query = sequence + t * rowWidth + h * g.headSize
                    var scores = [Double](repeating: 0, count: visible)
                    for s in 0..<visible {
                        let key = sequence + s * rowWidth + width + h * g.headSize
                        var dot = 0.0
                        for i in 0..<g.headSize { dot += Double(query[i]) * Double(key[i]) }
                        scores[s] = Double(scale) * dot
                    }
                    let maximum = scores.max() ?? 0
                    let weights = scores.map { exp($0 - maximum) }
                    let total = weights.reduce(0, +)
                    let output = y + (b * g.tokens + t) * width + h * g.headSize
                    for i in 0..<g.headSize {
                        var sum = 0.0
                        for s in 0..<visible { sum += weights[s] * Double(sequence[s * rowWidth + 2 * width + h * g.headSize + i]) }
                        output[i] = Float(sum / total)
                    }
                }
            }
        }
    }
}

extension ReferenceBackend {
    public func attention(_ queryKeyValue: Tensor, heads: Int, scale: Float, causalMask: Bool, into y: Tensor) throws {
        try measured("attention") {
            let g = try validateAttention(queryKeyValue, heads: heads, y)
            let source = try storage(queryKeyValue, "attention", "queryKeyValue"), output = try storage(y, "attention", "y")
            ReferenceOps.attention(source, output, geometry: g, scale: scale, causalMask: causalMask)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    /// One task per (sequence, head): the score product and the context product read the query,
    /// key and value columns of the fused product in place through BLAS leading dimensions, and
    /// the context is written straight into the head's columns of `y`.
    public func attention(_ queryKeyValue: Tensor, heads: Int, scale: Float, causalMask: Bool, into y: Tensor) throws {
        try measured("attention") {
            let g = try validateAttention(queryKeyValue, heads: heads, y)
            guard g.batch > 0, g.tokens > 0 else { return }
            let source = try storage(queryKeyValue, "attention", "queryKeyValue"), output = try storage(y, "attention", "y")
            _ = singleThreadedBLAS
            let tokens = g.tokens, width = g.width, rowWidth = Int32(3 * g.width), headSize = g.headSize
            let tasks = g.batch * g.heads
            let perTask: (Int, UnsafeMutablePointer<Float>) -> Void = { task, scores in
                let b = task / g.heads, h = task % g.heads
                let query = source + b * tokens * 3 * width + h * headSize
                let key = query + width, value = query + 2 * width
                // scores[t][s] = scale · q_t · k_s
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(tokens), Int32(tokens), Int32(headSize), scale,
                            query, rowWidth, key, rowWidth, 0, scores, Int32(tokens))
                // Row t sees tokens 0 ... t under the causal mask.
                VectorLoops.softmaxRows(scores, scores, rows: tokens, width: tokens, scale: 1, causalFrom: causalMask ? 0 : nil)
                // y[t][h · D + i] = Σ_s p[t][s] · v_s[i]
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(tokens), Int32(headSize), Int32(tokens), 1,
                            scores, Int32(tokens), value, rowWidth, 0, output + b * tokens * width + h * headSize, Int32(width))
            }
            let chunks = min(tasks, WorkerPool.threads * 2)
            // Tasks write disjoint column blocks of y and use their own score buffer.
            WorkerPool.run(tasks, chunks: chunks) { range in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: tokens * tokens)
                defer { scores.deallocate() }
                for task in range { perTask(task, scores) }
            }
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func attention(_ queryKeyValue: Tensor, heads: Int, scale: Float, causalMask: Bool, into y: Tensor) throws {
        let g = try validateAttention(queryKeyValue, heads: heads, y)
        guard g.batch > 0, g.tokens > 0 else { return }
        let arguments: [KernelArgument] = [
            .int(Int32(g.tokens)), .int(Int32(g.heads)), .float(scale), .int(causalMask ? 1 : 0),
            .buffer(try memory(queryKeyValue, "attention", "queryKeyValue")), .buffer(try memory(y, "attention", "y")),
        ]
        switch rowVariant {
        case .groupPerRow:
            let keyTile = tuning.attentionKeyTile(headSize: g.headSize)
            let group = try fittedGroupSize(.attentionTiled, preferred: tuning.attentionGroupSize(tokens: g.tokens),
                                            defines: [.headSize: g.headSize, .keyTile: keyTile])
            try launch(.attentionTiled, defines: [.groupSize: group, .headSize: g.headSize, .keyTile: keyTile],
                       global: [roundUp(g.tokens, group), g.heads, g.batch], local: [group, 1, 1], arguments: arguments)
        case .itemPerRow:
            let group = min(tuning.rowsPerGroup, g.tokens)
            try launch(.attentionRows, defines: [.headSize: g.headSize],
                       global: [roundUp(g.tokens, group), g.heads, g.batch], local: [group, 1, 1], arguments: arguments)
        }
    }
}

extension KernelTuning {
    /// Query tokens per work-group of `attention_tiled`: the smallest multiple of 32 that covers
    /// the sequence, at most 128 (ViT-B/32's 50 tokens: 64; the text tower's 77: 96).
    func attentionGroupSize(tokens: Int) -> Int {
        min(max(32, roundUp(tokens, 32)), min(128, rowGroupLimit))
    }

    /// Keys per local tile of `attention_tiled`: two tiles of `headSize` floats stay within 16 KiB.
    func attentionKeyTile(headSize: Int) -> Int {
        max(1, min(32, 2048 / max(headSize, 1)))
    }
}

// MARK: Bench cases

extension KernelCheck {
    /// GFLOP/s (4 · tokens² · width per sequence, half with the causal mask) of ViT-B/32's and
    /// the text tower's attention.
    static let attentionBenchCases: [Case] = [
        ("64 x 50 tokens x 12 heads x 64", 64, 50, false), ("64 x 77 tokens x 8 heads x 64 causal", 64, 77, true),
    ].map { name, batch, tokens, causal in
        let heads = causal ? 8 : 12, width = heads * 64
        return timed("attention", name, .flops(4.0 * Double(batch * tokens * tokens * width) / (causal ? 2 : 1))) { context in
            let qkv = try context.random([batch, tokens, 3 * width]), y = try context.backend.makeTensor(shape: [batch, tokens, width])
            return { try context.backend.attention(qkv, heads: heads, scale: 0.125, causalMask: causal, into: y) }
        }
    }
}

// MARK: Check cases

extension KernelCheck {
    /// ViT-B/32's and the text tower's shapes, odd head sizes and token counts (no multiple of any
    /// group or tile), one token, and scores large enough that an unstabilised softmax overflows.
    static let attentionCases: [Case] = {
        var cases: [Case] = []
        for (batch, tokens, heads, headSize, causal, range) in [
            (2, 50, 12, 64, false, Float(1)), (3, 77, 8, 64, true, 1), (2, 7, 5, 3, false, 1), (1, 1, 1, 1, true, 1),
            (2, 131, 2, 16, false, 1), (1, 70, 3, 128, true, 1), (2, 33, 4, 8, false, 10),
        ] {
            let width = heads * headSize
            let scale = 1 / Float(headSize).squareRoot()
            cases.append(Case(operation: "attention",
                              shape: "[\(batch), \(tokens), 3 × \(heads) × \(headSize)]\(causal ? " causal" : "")\(range > 1 ? " large scores" : "")",
                              absoluteTolerance: 2e-6 * Float(tokens) + 1e-5, relativeTolerance: 1e-4, run: { backend, inputs in
                let qkv = try backend.upload(inputs[0], shape: [batch, tokens, 3 * width])
                let y = try poisoned(backend, [batch, tokens, width])
                try backend.attention(qkv, heads: heads, scale: scale, causalMask: causal, into: y)
                return try backend.read(y)
            }, inputCounts: [batch * tokens * 3 * width], inputRange: -range...range))
        }
        return cases
    }()
}
