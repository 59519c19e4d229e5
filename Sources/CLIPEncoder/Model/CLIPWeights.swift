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

    /// Tensor `name`, which must have `shape`.
    /// - Throws: `CLIPEncoderError.tensorNotFound` or `.tensorShapeMismatch` naming the tensor.
    func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let info = try file.info(name)
        guard info.shape == shape else {
            throw CLIPEncoderError.tensorShapeMismatch(path: file.path, tensor: name, expected: shape, actual: info.shape)
        }
        return try backend.upload(try file.floats(name), shape: shape)
    }

    /// The values of tensor `name` on the host, which must have `shape`.
    func values(_ name: String, shape: [Int]) throws -> [Float] {
        let info = try file.info(name)
        guard info.shape == shape else {
            throw CLIPEncoderError.tensorShapeMismatch(path: file.path, tensor: name, expected: shape, actual: info.shape)
        }
        return try file.floats(name)
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
            weight: try backend.upload(weights, shape: [prefixes.count * output, input]),
            bias: try backend.upload(biases, shape: [prefixes.count * output]))
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
}
