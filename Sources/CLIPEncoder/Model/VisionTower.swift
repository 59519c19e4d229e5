import Compute

/// An image tower: preprocessed pixels in, image embeddings out. The model holds one without
/// knowing whether it is a vision transformer or a ResNet.
protocol ImageTower: AnyObject {
    /// Image embeddings (not normalised), `[batch, projection]`.
    /// - Parameter pixels: preprocessed images `[batch, channels, size, size]`, row-major.
    func encode(pixels: [Float], batch: Int) throws -> [Float]
}

/// CLIP's vision transformer: patches → tokens (class token first) → position embedding →
/// `pre_layrnorm` → blocks → `post_layernorm` of the class token → `visual_projection`.
final class VisionTower: ImageTower {
    let configuration: CLIPConfiguration.Vision
    let projectionSize: Int
    let backend: any Backend
    /// `[width, channels · patch · patch]`, the patch convolution as a matrix.
    let patchWeight: Tensor
    /// `[tokens, width]`: position embedding, with the class embedding added to row 0.
    let tokenOffsets: Tensor
    let preLayerNorm: LayerNormWeights
    let postLayerNorm: LayerNormWeights
    /// `[projection, width]`.
    let projection: Tensor
    let encoder: TransformerEncoder
    private var workspace: EncoderWorkspace?
    private var extra: (normed: Tensor, output: Tensor, patches: Tensor, pixels: Tensor)?

    init(loader: WeightLoader, configuration: CLIPConfiguration.Vision, projectionSize: Int, format: CheckpointFormat) throws {
        let c = configuration, width = c.hiddenSize, patchLength = c.channelCount * c.patchSize * c.patchSize
        let names = format.vision
        self.configuration = c
        self.projectionSize = projectionSize
        backend = loader.backend
        try loader.requireLayers(names.layerPrefix, count: c.layerCount, configurationKey: names.layerCountKey)
        let weight = try loader.values(names.patchEmbedding, shape: [width, c.channelCount, c.patchSize, c.patchSize])
        patchWeight = try backend.uploadConstant(weight, shape: [width, patchLength])
        let classEmbedding = try loader.values(names.classEmbedding, shape: [width])
        var positions = try loader.values(names.positionEmbedding, shape: [c.tokenCount, width])
        for column in 0..<width { positions[column] += classEmbedding[column] }
        tokenOffsets = try backend.upload(positions, shape: [c.tokenCount, width])
        preLayerNorm = try loader.layerNorm(names.preLayerNorm, width: width)
        postLayerNorm = try loader.layerNorm(names.finalLayerNorm, width: width)
        projection = try loader.projection(names, width: width, projectionSize: projectionSize)
        encoder = TransformerEncoder(
            shape: TransformerShape(width: width, intermediate: c.intermediateSize, headCount: c.headCount,
                                    layerNormEpsilon: c.layerNormEpsilon, activation: c.activation),
            layers: try (0..<c.layerCount).map {
                try loader.encoderLayer(format, names, index: $0, width: width, intermediate: c.intermediateSize)
            })
    }

    /// Image embeddings (not normalised), `[batch, projection]`.
    ///
    /// - Parameter pixels: preprocessed images `[batch, channels, size, size]`, row-major.
    func encode(pixels: [Float], batch: Int) throws -> [Float] {
        let c = configuration, width = c.hiddenSize, tokens = c.tokenCount
        let patchLength = c.channelCount * c.patchSize * c.patchSize
        let buffers = try buffers(batch: batch)
        // Upload the pixels and cut them into patch rows on the device: row 0 of each image is
        // zero, so the class token's slot gets only its embedding.
        let pixelTensor = try buffers.pixels.prefix(shape: [batch, c.channelCount, c.imageSize, c.imageSize])
        try backend.write(pixels, to: pixelTensor)
        let patchMatrix = try buffers.patches.prefix(shape: [batch * tokens, patchLength])
        try backend.imagePatches(pixelTensor, patchSize: c.patchSize, into: patchMatrix)
        let hidden = try buffers.workspace.hidden.prefix(shape: [batch, tokens, width])
        try backend.matmul(patchMatrix, patchWeight, bias: nil, into: try hidden.reshaped([batch * tokens, width]),
                           options: MatmulOptions(transposeB: true))
        try backend.add(hidden, tokenOffsets, into: hidden)
        try backend.layerNorm(hidden, weight: preLayerNorm.weight, bias: preLayerNorm.bias, epsilon: c.layerNormEpsilon, into: hidden)
        let classRows = try encoder(buffers.workspace, backend: backend, batch: batch, tokens: tokens, causalMask: false,
                                    outputRows: (0..<batch).map { Int32($0 * tokens) })
        let normed = try buffers.normed.prefix(shape: [batch, width])
        try backend.layerNorm(classRows, weight: postLayerNorm.weight, bias: postLayerNorm.bias, epsilon: c.layerNormEpsilon, into: normed)
        let output = try buffers.output.prefix(shape: [batch, projectionSize])
        try backend.matmul(normed, projection, bias: nil, into: output, options: MatmulOptions(transposeB: true))
        return try backend.read(output)
    }

    private func buffers(batch: Int) throws -> (workspace: EncoderWorkspace, patches: Tensor, normed: Tensor, output: Tensor, pixels: Tensor) {
        let c = configuration, width = c.hiddenSize
        if let workspace, workspace.capacityRows >= batch * c.tokenCount, let extra {
            return (workspace, extra.patches, extra.normed, extra.output, extra.pixels)
        }
        let created = try EncoderWorkspace(backend: backend, shape: encoder.shape, batch: batch, tokens: c.tokenCount)
        let buffers = (normed: try backend.makeTensor(shape: [batch * width]),
                       output: try backend.makeTensor(shape: [batch * projectionSize]),
                       patches: try backend.makeTensor(shape: [batch * c.tokenCount * c.channelCount * c.patchSize * c.patchSize]),
                       pixels: try backend.makeTensor(shape: [batch * c.channelCount * c.imageSize * c.imageSize]))
        workspace = created
        extra = buffers
        return (created, buffers.patches, buffers.normed, buffers.output, buffers.pixels)
    }
}
