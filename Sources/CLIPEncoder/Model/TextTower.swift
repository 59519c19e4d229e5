import Compute

/// CLIP's text transformer: token + position embeddings → causal blocks → `final_layer_norm` →
/// the state at each sequence's end-of-text token (its largest token id) → `text_projection`.
final class TextTower {
    let configuration: CLIPConfiguration.Text
    let projectionSize: Int
    let backend: any Backend
    /// `[vocabulary, width]`.
    let tokenEmbedding: Tensor
    /// `[maximumPositions, width]`.
    let positionEmbedding: Tensor
    let finalLayerNorm: LayerNormWeights
    /// `[projection, width]`.
    let projection: Tensor
    let encoder: TransformerEncoder
    private var workspace: EncoderWorkspace?
    private var extra: (pooled: Tensor, output: Tensor)?

    init(loader: WeightLoader, configuration: CLIPConfiguration.Text, projectionSize: Int, format: CheckpointFormat) throws {
        let c = configuration, width = c.hiddenSize
        let names = format.text
        self.configuration = c
        self.projectionSize = projectionSize
        backend = loader.backend
        try loader.requireLayers(names.layerPrefix, count: c.layerCount, configurationKey: names.layerCountKey)
        tokenEmbedding = try loader.tensor(names.tokenEmbedding, shape: [c.vocabularySize, width])
        positionEmbedding = try loader.tensor(names.positionEmbedding, shape: [c.maximumPositionCount, width])
        finalLayerNorm = try loader.layerNorm(names.finalLayerNorm, width: width)
        projection = try loader.projection(names, width: width, projectionSize: projectionSize)
        encoder = TransformerEncoder(
            shape: TransformerShape(width: width, intermediate: c.intermediateSize, headCount: c.headCount,
                                    layerNormEpsilon: c.layerNormEpsilon, activation: c.activation),
            layers: try (0..<c.layerCount).map {
                try loader.encoderLayer(format, names, index: $0, width: width, intermediate: c.intermediateSize)
            })
    }

    /// Text embeddings (not normalised), `[batch, projection]`.
    ///
    /// Only the first `1 + the last end-of-text position in the batch` tokens of each sequence
    /// are run: under the causal mask a token's state depends on earlier tokens only, so the
    /// padding after every sequence's end-of-text token cannot change a pooled state. Class
    /// prompts padded to 77 tokens run as about 15.
    ///
    /// - Parameter tokens: `batch` sequences of equal length ≤ the context length, each
    ///   `[SOT] … [EOT]` zero-padded.
    /// - Throws: `CLIPEncoderError.invalidTokens` for ragged, over-long or out-of-vocabulary input.
    func encode(tokens padded: [[Int32]]) throws -> [Float] {
        let c = configuration, width = c.hiddenSize, batch = padded.count
        guard let paddedLength = padded.first?.count, paddedLength > 0 else { return [] }
        guard padded.allSatisfy({ $0.count == paddedLength }), paddedLength <= c.maximumPositionCount else {
            throw CLIPEncoderError.invalidTokens(reason: "sequences must share one length of at most \(c.maximumPositionCount) tokens")
        }
        if let bad = padded.joined().first(where: { $0 < 0 || Int($0) >= c.vocabularySize }) {
            throw CLIPEncoderError.invalidTokens(reason: "token id \(bad) outside the vocabulary of \(c.vocabularySize)")
        }
        // The pooled position of each sequence: its largest token id (the end-of-text token), first on ties.
        let ends = padded.map { sequence in sequence.indices.max { sequence[$0] < sequence[$1] } ?? 0 }
        let length = (ends.max() ?? 0) + 1
        let sequences = padded.map { Array($0.prefix(length)) }
        let (workspace, pooledBuffer, outputBuffer) = try buffers(batch: batch, length: length)
        let hidden = try workspace.hidden.prefix(shape: [batch, length, width])
        try backend.gatherRows(tokenEmbedding, indices: Array(sequences.joined()), into: try hidden.reshaped([batch * length, width]))
        try backend.add(hidden, try positionEmbedding.prefix(shape: [length, width]), into: hidden)
        // Only the pooled rows need the last layer's MLP and the final layer norm: they act on each row alone.
        let endPositions = ends.enumerated().map { index, end in Int32(index * length + end) }
        let states = try encoder(workspace, backend: backend, batch: batch, tokens: length, causalMask: true, outputRows: endPositions)
        let pooled = try pooledBuffer.prefix(shape: [batch, width])
        try backend.layerNorm(states, weight: finalLayerNorm.weight, bias: finalLayerNorm.bias, epsilon: c.layerNormEpsilon, into: pooled)
        let output = try outputBuffer.prefix(shape: [batch, projectionSize])
        try backend.matmul(pooled, projection, bias: nil, into: output, options: MatmulOptions(transposeB: true))
        return try backend.read(output)
    }

    private func buffers(batch: Int, length: Int) throws -> (EncoderWorkspace, Tensor, Tensor) {
        let c = configuration
        if let workspace, workspace.capacityRows >= batch * c.maximumPositionCount, let extra,
           extra.pooled.storage.capacity >= batch * c.hiddenSize {
            return (workspace, extra.pooled, extra.output)
        }
        // Sized for full-length sequences, so shorter ones reuse the same buffers.
        let created = try EncoderWorkspace(backend: backend, shape: encoder.shape, batch: batch, tokens: c.maximumPositionCount)
        let buffers = (pooled: try backend.makeTensor(shape: [batch * c.hiddenSize]), output: try backend.makeTensor(shape: [batch * projectionSize]))
        workspace = created
        extra = buffers
        return (created, buffers.pooled, buffers.output)
    }
}
