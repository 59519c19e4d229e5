import Compute
import Foundation

/// A linear layer `y = x · Wᵀ + b` with Hugging Face's `[out, in]` weight.
struct LinearWeights {
    /// `[out, in]`.
    let weight: Tensor
    /// `[out]`, absent for bias-free projections.
    let bias: Tensor?
    var outputSize: Int { weight.shape[0] }
}

/// Layer normalisation parameters, each `[width]`.
struct LayerNormWeights {
    let weight: Tensor
    let bias: Tensor
}

/// One pre-norm transformer block: `x + attn(ln1(x))`, then `x + mlp(ln2(x))`.
struct EncoderLayerWeights {
    let layerNorm1: LayerNormWeights
    /// The query, key and value projections stacked at load time, `[3 · width, width]` (and
    /// bias `[3 · width]`): one product computes all three.
    let queryKeyValue: LinearWeights
    let output: LinearWeights
    let layerNorm2: LayerNormWeights
    let fc1: LinearWeights
    let fc2: LinearWeights
}

/// Reads CLIP tensors from a safetensors file onto a backend, checking every shape against the
/// configuration so that a mismatched checkpoint fails with the tensor's name.
struct WeightLoader {
    let file: SafeTensorsFile
    let backend: any Backend
    /// The configuration file beside the weights, named in errors about layer counts.
    var configurationFileName = "config.json"
    /// The names of the tensors read so far, for `requireAllUsed`.
    let used = TensorNames()

    /// Tensors a checkpoint may hold that no configuration uses: PyTorch buffers that transformers
    /// and open_clip also skip or rebuild (`position_ids`, batch-norm `num_batches_tracked`,
    /// open_clip's causal `attn_mask`).
    static let ignorableSuffixes = ["position_ids", "num_batches_tracked", "attn_mask"]

    /// Refuses tensors of the file that the configuration does not use, naming them (up to 8):
    /// a checkpoint with more layers than `num_hidden_layers`, or of another architecture, would
    /// otherwise be read in part and silently give other embeddings than upstream.
    /// - Parameter alsoUsed: tensors read outside this loader (`logit_scale`).
    /// - Throws: `CLIPEncoderError.unusedTensors` naming the weights file, the tensors and the
    ///   configuration file.
    func requireAllUsed(alsoUsed: Set<String>) throws {
        let used = self.used.names.union(alsoUsed)
        let unused = file.names.filter { name in
            !used.contains(name) && !Self.ignorableSuffixes.contains { name.hasSuffix($0) }
        }.sorted()
        guard unused.isEmpty else {
            throw CLIPEncoderError.unusedTensors(path: file.path, tensors: unused, configurationFile: configurationFileName)
        }
    }

    /// Tensor `name`, which must have `shape`.
    /// - Throws: `CLIPEncoderError.tensorNotFound` or `.tensorShapeMismatch` naming the tensor,
    ///   `.nonFiniteTensor` when it holds NaN or an infinity.
    func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        try backend.uploadConstant(try values(name, shape: shape), shape: shape)
    }

    /// The values of tensor `name` on the host, which must have `shape` and be finite.
    func values(_ name: String, shape: [Int]) throws -> [Float] {
        let info = try file.info(name)
        guard info.shape == shape else {
            throw CLIPEncoderError.tensorShapeMismatch(path: file.path, tensor: name, expected: shape, actual: info.shape)
        }
        let values = try file.floats(name)
        try Self.requireFinite(values, tensor: name, path: file.path)
        used.insert(name)
        return values
    }

    /// Throws `CLIPEncoderError.nonFiniteTensor` at the first NaN or infinity of `values`.
    static func requireFinite(_ values: [Float], tensor: String, path: String) throws {
        let firstBad: Int? = values.withUnsafeBufferPointer { buffer in
            // A sum of `x * 0` is NaN exactly when some `x` is NaN or infinite: one cheap pass,
            // then a search only when it fails.
            var probe: Float = 0
            for value in buffer { probe += value * 0 }
            return probe == 0 ? nil : buffer.firstIndex { !$0.isFinite }
        }
        if let index = firstBad {
            throw CLIPEncoderError.nonFiniteTensor(path: path, tensor: tensor, index: index, value: values[index])
        }
    }

    /// Checks, before any layer is loaded, that the file holds the `count` numbered layers that
    /// the configuration promises under `layerPrefix` (`vision_model.encoder.layers.`,
    /// `visual.layer1.`): a huge layer count then fails naming the key instead of reserving
    /// memory for it.
    /// - Throws: `CLIPEncoderError.invalidConfiguration` naming `configurationKey`.
    func requireLayers(_ layerPrefix: String, count: Int, configurationKey: String) throws {
        var present = Set<Int>()
        for name in file.names where name.hasPrefix(layerPrefix) {
            if let index = Int(name.dropFirst(layerPrefix.count).prefix { $0 != "." }) { present.insert(index) }
        }
        var contiguous = 0
        while present.contains(contiguous) { contiguous += 1 }
        guard count <= contiguous else {
            let configurationPath = URL(fileURLWithPath: file.path).deletingLastPathComponent().appendingPathComponent(configurationFileName).path
            let held = contiguous == 0 ? "no layer" : "\(contiguous) (\(layerPrefix)0 to \(contiguous - 1))"
            throw CLIPEncoderError.invalidConfiguration(
                path: configurationPath, key: configurationKey,
                reason: "\(count) layers, but \(URL(fileURLWithPath: file.path).lastPathComponent) holds \(held)")
        }
    }

    func linear(_ prefix: String, input: Int, output: Int, bias: Bool = true) throws -> LinearWeights {
        LinearWeights(
            weight: try tensor(prefix + ".weight", shape: [output, input]),
            bias: bias ? try tensor(prefix + ".bias", shape: [output]) : nil)
    }

    /// Several linear layers of the same input width stacked along their outputs, as one layer.
    func stackedLinear(_ prefixes: [String], input: Int, output: Int) throws -> LinearWeights {
        var weights: [Float] = [], biases: [Float] = []
        weights.reserveCapacity(prefixes.count * output * input)
        for prefix in prefixes {
            weights += try values(prefix + ".weight", shape: [output, input])
            biases += try values(prefix + ".bias", shape: [output])
        }
        return LinearWeights(
            weight: try backend.uploadConstant(weights, shape: [prefixes.count * output, input]),
            bias: try backend.uploadConstant(biases, shape: [prefixes.count * output]))
    }

    /// Tensor `name` stored `[rows, columns]` (open_clip's `x @ proj` projections), uploaded
    /// transposed as `[columns, rows]`, the `[out, in]` layout of a linear layer.
    func transposedTensor(_ name: String, rows: Int, columns: Int) throws -> Tensor {
        let values = try values(name, shape: [rows, columns])
        var transposed = [Float](repeating: 0, count: values.count)
        for row in 0..<rows {
            for column in 0..<columns { transposed[column * rows + row] = values[row * columns + column] }
        }
        return try backend.uploadConstant(transposed, shape: [columns, rows])
    }

    func layerNorm(_ prefix: String, width: Int) throws -> LayerNormWeights {
        LayerNormWeights(weight: try tensor(prefix + ".weight", shape: [width]), bias: try tensor(prefix + ".bias", shape: [width]))
    }

    /// Layer `index` of the encoder under `prefix` (e.g. `vision_model.encoder`).
    func encoderLayer(_ prefix: String, index: Int, width: Int, intermediate: Int) throws -> EncoderLayerWeights {
        let base = "\(prefix).layers.\(index)"
        return EncoderLayerWeights(
            layerNorm1: try layerNorm(base + ".layer_norm1", width: width),
            queryKeyValue: try stackedLinear(
                ["q_proj", "k_proj", "v_proj"].map { base + ".self_attn." + $0 }, input: width, output: width),
            output: try linear(base + ".self_attn.out_proj", input: width, output: width),
            layerNorm2: try layerNorm(base + ".layer_norm2", width: width),
            fc1: try linear(base + ".mlp.fc1", input: width, output: intermediate),
            fc2: try linear(base + ".mlp.fc2", input: intermediate, output: width))
    }

    /// Block `index` of an open_clip / OpenAI transformer under `prefix` (`visual.transformer`,
    /// `transformer`): `ln_1`, `attn.in_proj_weight` (query, key and value already stacked),
    /// `attn.out_proj`, `ln_2`, `mlp.c_fc`, `mlp.c_proj`.
    func openCLIPEncoderLayer(_ prefix: String, index: Int, width: Int, intermediate: Int) throws -> EncoderLayerWeights {
        let base = "\(prefix).resblocks.\(index)"
        return EncoderLayerWeights(
            layerNorm1: try layerNorm(base + ".ln_1", width: width),
            queryKeyValue: LinearWeights(weight: try tensor(base + ".attn.in_proj_weight", shape: [3 * width, width]),
                                         bias: try tensor(base + ".attn.in_proj_bias", shape: [3 * width])),
            output: try linear(base + ".attn.out_proj", input: width, output: width),
            layerNorm2: try layerNorm(base + ".ln_2", width: width),
            fc1: try linear(base + ".mlp.c_fc", input: width, output: intermediate),
            fc2: try linear(base + ".mlp.c_proj", input: intermediate, output: width))
    }
}

/// A set of tensor names shared by the copies of one `WeightLoader` (the towers take it by value).
final class TensorNames: @unchecked Sendable {
    // @unchecked: written only while a model loads, on one thread, under `lock`.
    private var storage = Set<String>()
    private let lock = NSLock()

    func insert(_ name: String) { lock.withLock { _ = storage.insert(name) } }

    var names: Set<String> { lock.withLock { storage } }
}
