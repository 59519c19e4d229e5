import Compute

/// One convolution with its batch norm folded in (inference only), ready for
/// `Backend.convolution`: weight `[out, k · k · in]` (PyTorch's `[out, in, ky, kx]` reordered to
/// `[out, ky, kx, in]` for channels-last images), bias `[out]`.
struct ConvolutionWeights {
    let weight: Tensor
    let bias: Tensor
    let inChannels: Int
    let outChannels: Int
    let kernelSize: Int
    let stride: Int
    var padding: Int { kernelSize / 2 }

    /// The output geometry of this convolution over `[batch, side, side, inChannels]`.
    func geometry(batch: Int, side: Int) -> ConvolutionGeometry {
        ConvolutionGeometry(batch: batch, height: side, width: side, channels: inChannels, kernelSize: kernelSize, stride: stride, padding: padding)
    }
}

/// One bottleneck block of OpenAI's ModifiedResNet: 1×1 → 3×3 → average pool (stride > 1) →
/// 1×1 expanding ×4, plus the input (through average pool + 1×1 + batch norm when the stride or
/// width changes: `downsample.0` and its norm `downsample.1`), then ReLU.
struct BottleneckWeights {
    let reduce: ConvolutionWeights
    let spatial: ConvolutionWeights
    let expand: ConvolutionWeights
    let stride: Int
    let downsample: ConvolutionWeights?
}

extension WeightLoader {
    /// Convolution `prefix.weight` `[out, in, k, k]` with the batch norm `normPrefix`
    /// (`weight`, `bias`, `running_mean`, `running_var`) folded in:
    /// `w' = w · γ / √(σ² + ε)`, `b' = β − μ · γ / √(σ² + ε)`, ε = 1e-5 as in PyTorch's BatchNorm2d.
    func foldedConvolution(_ prefix: String, normPrefix: String, inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1) throws
        -> ConvolutionWeights {
        let raw = try values(prefix + ".weight", shape: [outChannels, inChannels, kernelSize, kernelSize])
        let gamma = try values(normPrefix + ".weight", shape: [outChannels])
        let beta = try values(normPrefix + ".bias", shape: [outChannels])
        let mean = try values(normPrefix + ".running_mean", shape: [outChannels])
        let variance = try values(normPrefix + ".running_var", shape: [outChannels])
        let taps = kernelSize * kernelSize
        var weight = [Float](repeating: 0, count: raw.count), bias = [Float](repeating: 0, count: outChannels)
        for out in 0..<outChannels {
            let factor = Double(gamma[out]) / (Double(variance[out]) + 1e-5).squareRoot()
            bias[out] = Float(Double(beta[out]) - Double(mean[out]) * factor)
            for input in 0..<inChannels {
                for tap in 0..<taps {
                    weight[(out * taps + tap) * inChannels + input] = Float(Double(raw[(out * inChannels + input) * taps + tap]) * factor)
                }
            }
        }
        try Self.requireFinite(weight, tensor: prefix + ".weight (batch norm folded in)", path: file.path)
        try Self.requireFinite(bias, tensor: normPrefix + " (folded bias)", path: file.path)
        return ConvolutionWeights(weight: try backend.uploadConstant(weight, shape: [outChannels, taps * inChannels]),
                                  bias: try backend.uploadConstant(bias, shape: [outChannels]),
                                  inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize, stride: stride)
    }
}

/// OpenAI CLIP's ModifiedResNet image tower (RN50, RN101, RN50x4, RN50x16, RN50x64), from
/// open_clip / OpenAI parameter names, on channels-last activations:
///
/// - stem: three 3×3 convolutions (stride 2, 1, 1; widths `width/2`, `width/2`, `width`), each
///   with batch norm and ReLU, then a 2×2 average pool;
/// - four stages of bottleneck blocks (`width · 2^s` inner channels, ×4 out; stages 2–4 halve
///   the side with an average pool inside their first block);
/// - attention pool: the grid's tokens with their mean prepended, plus the positional embedding;
///   multi-head attention (`Backend.attention`, every token a query, of which only the mean
///   token's output is kept, as open_clip computes it); output projection `c_proj`.
///
/// Batch norm is folded into the convolutions at load time. Each convolution is a patch matrix
/// and one matrix product whose epilogue adds the bias, the residual and ReLU.
final class ResNetTower: ImageTower {
    let imageSize: Int
    let channelCount: Int
    let resNet: CLIPConfiguration.ResNet
    let projectionSize: Int
    let backend: any Backend
    let stem: [ConvolutionWeights]
    let blocks: [BottleneckWeights]
    /// `[tokens, grid²]`: row 0 averages the grid, rows 1… copy it (the mean token, then the grid).
    let tokenMatrix: Tensor
    /// `[tokens, featureWidth]`.
    let positionEmbedding: Tensor
    /// Query, key and value stacked, `[3 · featureWidth, featureWidth]`, and their biases.
    let queryKeyValue: LinearWeights
    /// `c_proj`: `[projection, featureWidth]`.
    let output: LinearWeights
    private var workspace: Workspace?

    /// Side of the last stage's grid: `imageSize / 32`.
    var gridSize: Int { imageSize / 32 }
    /// The attention pool's tokens: the mean token and the grid.
    var tokenCount: Int { gridSize * gridSize + 1 }

    init(loader: WeightLoader, configuration: CLIPConfiguration.Vision, resNet: CLIPConfiguration.ResNet, projectionSize: Int) throws {
        imageSize = configuration.imageSize
        channelCount = configuration.channelCount
        self.resNet = resNet
        self.projectionSize = projectionSize
        backend = loader.backend
        let width = resNet.width, half = width / 2
        guard channelCount == 3, width % 2 == 0 else {
            throw CLIPEncoderError.invalidConfiguration(path: loader.file.path, key: "model_cfg.vision_cfg.width",
                                                        reason: "a ResNet tower needs an even stem width and 3 input channels")
        }
        stem = [
            try loader.foldedConvolution("visual.conv1", normPrefix: "visual.bn1", inChannels: 3, outChannels: half, kernelSize: 3, stride: 2),
            try loader.foldedConvolution("visual.conv2", normPrefix: "visual.bn2", inChannels: half, outChannels: half, kernelSize: 3),
            try loader.foldedConvolution("visual.conv3", normPrefix: "visual.bn3", inChannels: half, outChannels: width, kernelSize: 3),
        ]
        var blocks: [BottleneckWeights] = []
        var inChannels = width
        for (stage, count) in resNet.blockCounts.enumerated() {
            let stagePrefix = "visual.layer\(stage + 1)."
            try loader.requireLayers(stagePrefix, count: count, configurationKey: "model_cfg.vision_cfg.layers")
            let planes = width << stage
            for index in 0..<count {
                let prefix = stagePrefix + "\(index)"
                let stride = index == 0 && stage > 0 ? 2 : 1
                let downsample = stride > 1 || inChannels != 4 * planes
                    ? try loader.foldedConvolution(prefix + ".downsample.0", normPrefix: prefix + ".downsample.1",
                                                   inChannels: inChannels, outChannels: 4 * planes, kernelSize: 1)
                    : nil
                blocks.append(BottleneckWeights(
                    reduce: try loader.foldedConvolution(prefix + ".conv1", normPrefix: prefix + ".bn1", inChannels: inChannels, outChannels: planes, kernelSize: 1),
                    spatial: try loader.foldedConvolution(prefix + ".conv2", normPrefix: prefix + ".bn2", inChannels: planes, outChannels: planes, kernelSize: 3),
                    expand: try loader.foldedConvolution(prefix + ".conv3", normPrefix: prefix + ".bn3", inChannels: planes, outChannels: 4 * planes, kernelSize: 1),
                    stride: stride, downsample: downsample))
                inChannels = 4 * planes
            }
        }
        self.blocks = blocks
        let features = resNet.featureWidth, grid = imageSize / 32, tokens = grid * grid + 1
        var matrix = [Float](repeating: 0, count: tokens * grid * grid)
        for cell in 0..<grid * grid {
            matrix[cell] = 1 / Float(grid * grid)
            matrix[(cell + 1) * grid * grid + cell] = 1
        }
        tokenMatrix = try backend.upload(matrix, shape: [tokens, grid * grid])
        positionEmbedding = try loader.tensor("visual.attnpool.positional_embedding", shape: [tokens, features])
        queryKeyValue = try loader.stackedLinear(["q_proj", "k_proj", "v_proj"].map { "visual.attnpool." + $0 }, input: features, output: features)
        output = try loader.linear("visual.attnpool.c_proj", input: features, output: projectionSize)
    }

    /// Scratch tensors for a batch: ping-pong activations, the block's inner activations and the
    /// patch matrix, each sized for the largest layer.
    private final class Workspace {
        let capacity: Int
        let pixels: Tensor
        let activations: [Tensor]
        let patches: Tensor
        let tokens: Tensor, queryKeyValue: Tensor, context: Tensor, pooled: Tensor, output: Tensor

        init(tower: ResNetTower, batch: Int) throws {
            capacity = batch
            let backend = tower.backend
            func make(_ count: Int) throws -> Tensor { try backend.makeTensor(shape: [max(count, 1)]) }
            let (activationCount, patchCount) = tower.largestSizes(batch: batch)
            let side = tower.imageSize, features = tower.resNet.featureWidth, tokens = tower.tokenCount
            pixels = try make(batch * 3 * side * side)
            activations = try (0..<5).map { _ in try make(activationCount) }
            patches = try make(patchCount)
            self.tokens = try make(batch * tokens * features)
            queryKeyValue = try make(batch * tokens * 3 * features)
            context = try make(batch * tokens * features)
            pooled = try make(batch * features)
            output = try make(batch * tower.projectionSize)
        }
    }

    /// The most elements any activation and any patch matrix takes for `batch` images.
    private func largestSizes(batch: Int) -> (activations: Int, patches: Int) {
        var activations = batch * imageSize * imageSize * 3, patches = 0
        var side = imageSize
        func convolve(_ layer: ConvolutionWeights) {
            let g = layer.geometry(batch: batch, side: side)
            if !g.isPointwise { patches = max(patches, g.rows * g.patchLength) }
            side = g.outHeight
            activations = max(activations, g.rows * layer.outChannels)
        }
        for layer in stem { convolve(layer) }
        side /= 2
        for block in blocks {
            let inputSide = side
            convolve(block.reduce)
            convolve(block.spatial)
            side /= block.stride
            convolve(block.expand)
            side = inputSide / block.stride
        }
        return (activations, patches)
    }

    func encode(pixels: [Float], batch: Int) throws -> [Float] {
        let w: Workspace
        if let existing = workspace, existing.capacity >= batch {
            w = existing
        } else {
            w = try Workspace(tower: self, batch: batch)
            workspace = w
        }
        let side = imageSize
        let pixelTensor = try w.pixels.prefix(shape: [batch, 3, side, side])
        try backend.write(pixels, to: pixelTensor)
        var free = w.activations
        func take() -> Tensor { free.removeFirst() }
        func give(_ tensor: Tensor) { free.append(tensor) }
        func view(_ buffer: Tensor, side: Int, channels: Int) throws -> Tensor {
            try buffer.prefix(shape: [batch, side, side, channels])
        }

        // Channels-last pixels, then the stem.
        var current = take()
        var x = try view(current, side: side, channels: 3)
        try backend.permute(pixelTensor, permutation: [0, 2, 3, 1], into: x)
        var currentSide = side
        for layer in stem {
            let g = layer.geometry(batch: batch, side: currentSide)
            let next = take()
            let y = try view(next, side: g.outHeight, channels: layer.outChannels)
            try backend.convolution(x, weight: layer.weight, bias: layer.bias, kernelSize: layer.kernelSize, stride: layer.stride,
                                    padding: layer.padding, scratch: w.patches, into: y, activation: .relu)
            give(current)
            current = next
            x = y
            currentSide = g.outHeight
        }
        let pooledStem = take()
        let stemOutput = try view(pooledStem, side: currentSide / 2, channels: resNet.width)
        try backend.averagePool(x, window: 2, into: stemOutput)
        give(current)
        current = pooledStem
        x = stemOutput
        currentSide /= 2

        for block in blocks {
            x = try bottleneck(block, x, side: currentSide, batch: batch, current: &current, take: take, give: give, scratch: w.patches)
            currentSide /= block.stride
        }
        return try attentionPool(x, batch: batch, workspace: w)
    }

    /// Runs `block` on `x` (held in `current`); returns the output, which `current` then holds.
    private func bottleneck(_ block: BottleneckWeights, _ x: Tensor, side: Int, batch: Int, current: inout Tensor,
                            take: () -> Tensor, give: (Tensor) -> Void, scratch: Tensor) throws -> Tensor {
        let planes = block.reduce.outChannels, outSide = side / block.stride
        func shape(_ buffer: Tensor, _ side: Int, _ channels: Int) throws -> Tensor { try buffer.prefix(shape: [batch, side, side, channels]) }
        func convolve(_ layer: ConvolutionWeights, _ input: Tensor, _ output: Tensor, activation: Activation?, accumulate: Bool = false) throws {
            try backend.convolution(input, weight: layer.weight, bias: layer.bias, kernelSize: layer.kernelSize, stride: layer.stride,
                                    padding: layer.padding, scratch: scratch, into: output, activation: activation, accumulate: accumulate)
        }
        let first = take(), second = take()
        defer { give(first); give(second) }
        let reduced = try shape(first, side, planes)
        try convolve(block.reduce, x, reduced, activation: .relu)
        let spatial = try shape(second, side, planes)
        try convolve(block.spatial, reduced, spatial, activation: .relu)
        var inner = spatial
        if block.stride > 1 {
            inner = try shape(first, outSide, planes)
            try backend.averagePool(spatial, window: block.stride, into: inner)
        }
        // The residual: the input itself (accumulated in place), or its pooled 1×1 projection.
        guard let downsample = block.downsample else {
            try convolve(block.expand, inner, x, activation: .relu, accumulate: true)
            return x
        }
        let identityBuffer = take()
        var identityInput = x
        if block.stride > 1 {
            let pooledBuffer = take()
            identityInput = try shape(pooledBuffer, outSide, x.shape[3])
            try backend.averagePool(x, window: block.stride, into: identityInput)
            give(current)
            current = pooledBuffer
        }
        let identity = try shape(identityBuffer, outSide, downsample.outChannels)
        try convolve(downsample, identityInput, identity, activation: nil)
        try convolve(block.expand, inner, identity, activation: .relu, accumulate: true)
        give(current)
        current = identityBuffer
        return identity
    }

    /// The attention pool over the last stage's grid `x` `[batch, grid, grid, features]`.
    private func attentionPool(_ x: Tensor, batch: Int, workspace w: Workspace) throws -> [Float] {
        let features = resNet.featureWidth, heads = resNet.headCount, headSize = features / heads
        let tokens = tokenCount, cells = gridSize * gridSize
        let tokenStates = try w.tokens.prefix(shape: [batch, tokens, features])
        try backend.matmul(try tokenMatrix.reshaped([1, tokens, cells]), try x.reshaped([batch, cells, features]), into: tokenStates)
        try backend.add(tokenStates, positionEmbedding, into: tokenStates)
        let queryKeyValue = try w.queryKeyValue.prefix(shape: [batch, tokens, 3 * features])
        try backend.matmul(try tokenStates.reshaped([batch * tokens, features]), self.queryKeyValue.weight, bias: self.queryKeyValue.bias,
                           into: try queryKeyValue.reshaped([batch * tokens, 3 * features]), options: MatmulOptions(transposeB: true))
        let context = try w.context.prefix(shape: [batch, tokens, features])
        try backend.attention(queryKeyValue, heads: heads, scale: 1 / Float(headSize).squareRoot(), causalMask: false, into: context)
        // Only the mean token's row is the pool's output.
        let pooled = try w.pooled.prefix(shape: [batch, features])
        try backend.gatherRows(try context.reshaped([batch * tokens, features]), indices: (0..<batch).map { Int32($0 * tokens) }, into: pooled)
        let result = try w.output.prefix(shape: [batch, projectionSize])
        try backend.matmul(pooled, output.weight, bias: output.bias, into: result, options: MatmulOptions(transposeB: true))
        return try backend.read(result)
    }
}
