import Compute

/// The sizes of one transformer tower.
struct TransformerShape {
    let width: Int
    let intermediate: Int
    let headCount: Int
    let layerNormEpsilon: Float
    let activation: Activation
    var headSize: Int { width / headCount }
}

/// Scratch tensors of one tower, allocated once for the largest batch and viewed with smaller
/// shapes for smaller batches, so memory stays flat over any number of batches.
final class EncoderWorkspace {
    let capacityRows: Int
    let hidden: Tensor, normed: Tensor
    /// `[rows, 3 · width]`: the fused query/key/value product.
    let queryKeyValue: Tensor
    /// `[rows, width]`: the attention's output, token-major.
    let context: Tensor
    let intermediate: Tensor

    /// - Parameters: maximum `batch` and `tokens` per sequence.
    init(backend: any Backend, shape: TransformerShape, batch: Int, tokens: Int) throws {
        let rows = batch * tokens
        capacityRows = rows
        func make(_ count: Int) throws -> Tensor { try backend.makeTensor(shape: [count]) }
        hidden = try make(rows * shape.width)
        normed = try make(rows * shape.width)
        queryKeyValue = try make(rows * 3 * shape.width)
        context = try make(rows * shape.width)
        intermediate = try make(rows * shape.intermediate)
    }
}

/// Runs the pre-norm transformer blocks shared by CLIP's vision and text towers, with nothing
/// but `Backend` operations.
struct TransformerEncoder {
    let shape: TransformerShape
    let layers: [EncoderLayerWeights]

    /// Applies every layer to `workspace.hidden` in place, in 7 operations per layer (18 before
    /// fusion): layer norm, fused Q/K/V product, attention (read from the Q/K/V product in place,
    /// written token-major), output product with the residual folded in (β = 1), layer norm,
    /// first MLP product with its activation in the epilogue, second MLP product with the
    /// residual folded in.
    ///
    /// Only the states of `outputRows` are returned, and the last layer computes no others past
    /// its attention: every token's keys and values are still needed, but the output product and
    /// the MLP act on each row alone, so the other rows' would be thrown away. (The towers pool
    /// one row per sequence: this skips about three quarters of the last layer, 6 % of a ViT-B/32.)
    ///
    /// - Parameters:
    ///   - batch: sequences in the batch; `tokens`: tokens per sequence.
    ///   - causalMask: mask attention to later tokens (text tower).
    ///   - outputRows: rows of `[batch · tokens]` to return (the class token of each image, the
    ///     end-of-text token of each sequence), at most `batch · tokens` of them.
    /// - Returns: those rows' hidden states `[outputRows.count, width]` (a view of `workspace.context`).
    func callAsFunction(
        _ workspace: EncoderWorkspace, backend: any Backend, batch: Int, tokens: Int, causalMask: Bool, outputRows: [Int32]
    ) throws -> Tensor {
        let rows = batch * tokens, width = shape.width, kept = outputRows.count
        let hidden = try workspace.hidden.prefix(shape: [rows, width])
        let normed = try workspace.normed.prefix(shape: [rows, width])
        let queryKeyValue = try workspace.queryKeyValue.prefix(shape: [batch, tokens, 3 * width])
        let context = try workspace.context.prefix(shape: [batch, tokens, width])
        let contextRows = try context.reshaped([rows, width])
        let transposed = MatmulOptions(transposeB: true)
        let residual = MatmulOptions(transposeB: true, beta: 1)  // hidden += x · Wᵀ + b
        let scale = 1 / Float(shape.headSize).squareRoot()
        // The kept rows of the last layer: their attention output (in `normed`, free after the
        // Q/K/V product) and their hidden states (in `context`, free once gathered from).
        let keptContext = try workspace.normed.prefix(shape: [kept, width])
        let keptHidden = try workspace.context.prefix(shape: [kept, width])
        guard !layers.isEmpty else {
            try backend.gatherRows(hidden, indices: outputRows, into: keptHidden)
            return keptHidden
        }

        for (index, layer) in layers.enumerated() {
            // Attention: x + out(softmax(q kᵀ / √d) v) over ln1(x).
            try backend.layerNorm(hidden, weight: layer.layerNorm1.weight, bias: layer.layerNorm1.bias,
                                  epsilon: shape.layerNormEpsilon, into: normed)
            try backend.matmul(normed, layer.queryKeyValue.weight, bias: layer.queryKeyValue.bias,
                               into: try queryKeyValue.reshaped([rows, 3 * width]), options: transposed)
            try backend.attention(queryKeyValue, heads: shape.headCount, scale: scale, causalMask: causalMask, into: context)
            let isLast = index == layers.count - 1
            let (attended, states, stateRows) = isLast ? (keptContext, keptHidden, kept) : (contextRows, hidden, rows)
            if isLast {
                try backend.gatherRows(contextRows, indices: outputRows, into: keptContext)
                try backend.gatherRows(hidden, indices: outputRows, into: keptHidden)
            }
            try backend.matmul(attended, layer.output.weight, bias: layer.output.bias, into: states, options: residual)

            // MLP: x + fc2(act(fc1(ln2(x)))).
            let statesNormed = try workspace.normed.prefix(shape: [stateRows, width])
            let statesIntermediate = try workspace.intermediate.prefix(shape: [stateRows, shape.intermediate])
            try backend.layerNorm(states, weight: layer.layerNorm2.weight, bias: layer.layerNorm2.bias,
                                  epsilon: shape.layerNormEpsilon, into: statesNormed)
            try backend.matmul(statesNormed, layer.fc1.weight, bias: layer.fc1.bias, into: statesIntermediate,
                               options: MatmulOptions(transposeB: true, activation: shape.activation))
            try backend.matmul(statesIntermediate, layer.fc2.weight, bias: layer.fc2.bias, into: states, options: residual)
        }
        return keptHidden
    }
}
