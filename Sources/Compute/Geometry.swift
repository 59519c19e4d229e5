/// Shape checks shared by every backend, so that both reject the same inputs with the same
/// messages and agree on how leading dimensions are flattened.

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

/// Splits a tensor into rows over its last dimension.
func rowsAndWidth(_ tensor: Tensor, operation: String, name: String) throws -> (rows: Int, width: Int) {
    guard let width = tensor.shape.last, width > 0 else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: name, expected: "at least 1 dimension of size ≥ 1", actual: tensor.shape)
    }
    return (tensor.count / width, width)
}

func requireSameCount(_ x: Tensor, _ y: Tensor, operation: String) throws {
    guard x.count == y.count else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "output", expected: "\(x.count) elements like the input \(x.shape)", actual: y.shape)
    }
}

func validateSoftmax(_ x: Tensor, _ y: Tensor, causalMask: Bool) throws -> (rows: Int, width: Int) {
    let (rows, width) = try rowsAndWidth(x, operation: "softmax", name: "x")
    try requireSameCount(x, y, operation: "softmax")
    if causalMask, rows % width != 0 {
        throw ComputeError.shapeMismatch(operation: "softmax", tensor: "x", expected: "stacked square [n, n] score matrices for the causal mask", actual: x.shape)
    }
    return (rows, width)
}

func validateLayerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, _ y: Tensor) throws -> (rows: Int, width: Int) {
    let (rows, width) = try rowsAndWidth(x, operation: "layerNorm", name: "x")
    try requireSameCount(x, y, operation: "layerNorm")
    guard weight.count == width else {
        throw ComputeError.shapeMismatch(operation: "layerNorm", tensor: "weight", expected: "[\(width)]", actual: weight.shape)
    }
    guard bias.count == width else {
        throw ComputeError.shapeMismatch(operation: "layerNorm", tensor: "bias", expected: "[\(width)]", actual: bias.shape)
    }
    return (rows, width)
}

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

func validateAdd(_ a: Tensor, _ b: Tensor, _ c: Tensor) throws {
    try requireSameCount(a, c, operation: "add")
    guard b.count > 0, a.count % b.count == 0 else {
        throw ComputeError.shapeMismatch(operation: "add", tensor: "b", expected: "a block whose size divides \(a.count) (A is \(a.shape))", actual: b.shape)
    }
}

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

/// The sizes of a `splitHeads` call after validation.
struct HeadSplitGeometry: Equatable {
    var batch: Int
    var tokens: Int
    var heads: Int
    var headSize: Int
    var width: Int { heads * headSize }
}

func validateSplitHeads(_ qkv: Tensor, heads: Int, _ query: Tensor, _ key: Tensor, _ value: Tensor) throws -> HeadSplitGeometry {
    let operation = "splitHeads"
    guard qkv.rank == 3, heads > 0, qkv.shape[2] % (3 * heads) == 0 else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "qkv", expected: "[batch, tokens, 3 · \(heads) heads · headSize]", actual: qkv.shape)
    }
    let g = HeadSplitGeometry(batch: qkv.shape[0], tokens: qkv.shape[1], heads: heads, headSize: qkv.shape[2] / (3 * heads))
    for (tensor, name) in [(query, "query"), (key, "key"), (value, "value")] where tensor.count != g.batch * g.tokens * g.width {
        throw ComputeError.shapeMismatch(
            operation: operation, tensor: name, expected: "[\(g.batch), \(heads), \(g.tokens), \(g.headSize)]", actual: tensor.shape)
    }
    return g
}
