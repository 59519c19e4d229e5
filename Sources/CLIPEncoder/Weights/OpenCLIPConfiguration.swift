import Compute
import FileIntegrity
import Foundation
import Support

/// The configuration of an open_clip model folder, `open_clip_config.json`: its `model_cfg`
/// (open_clip's `CLIPVisionCfg` / `CLIPTextCfg` fields, with open_clip's defaults for missing ones)
/// read into a `CLIPConfiguration`, and its `preprocess_cfg` (where present) into a
/// `PreprocessorConfiguration`.
///
/// `vision_cfg.layers` is an integer for a vision transformer and a list of four stage depths for
/// OpenAI's ModifiedResNet. `quick_gelu: true` (OpenAI's weights) selects QuickGELU in both
/// transformers, else exact GELU. Options this encoder does not implement (timm or Hugging Face
/// towers, layer scale, attentional pooling, …) are refused naming the key, rather than ignored.
struct OpenCLIPConfiguration {
    let model: CLIPConfiguration
    let preprocessor: PreprocessorConfiguration
    /// Prefix of the text tower's tensors: empty, or `text.` for `custom_text` models.
    let textPrefix: String

    /// Reads `open_clip_config.json` at `url`.
    /// - Throws: `CLIPEncoderError.fileAccessFailed` when unreadable, `.invalidConfiguration`
    ///   naming the key for a malformed or unsupported value.
    init(contentsOf url: URL) throws {
        try RegularFile.require(url)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CLIPEncoderError.fileAccessFailed(path: url.path, operation: "read", reason: ReadableError.reason(error))
        }
        try self.init(json: data, path: url.path)
    }

    init(json data: Data, path: String) throws {
        let root = try CheckpointJSONReader(data: data, path: path)
        guard let modelReader = try root.object("model_cfg") else { throw root.failure("model_cfg", "missing") }
        let emptyVision = CheckpointJSONReader(path: path, prefix: "model_cfg.vision_cfg.", members: [:])
        let emptyText = CheckpointJSONReader(path: path, prefix: "model_cfg.text_cfg.", members: [:])
        let visionReader = try modelReader.object("vision_cfg") ?? emptyVision
        let textReader = try modelReader.object("text_cfg") ?? emptyText
        let activation: Activation = try Self.flag(modelReader, "quick_gelu") ? .quickGELU : .gelu

        var model = CLIPConfiguration()
        model.projectionSize = try modelReader.positiveInteger("embed_dim", default: 512)
        model.vision = try Self.readVision(visionReader, activation: activation)
        model.text = try Self.readText(textReader, activation: activation)
        self.model = model
        textPrefix = try Self.flag(modelReader, "custom_text") ? "text." : ""
        preprocessor = try Self.readPreprocessing(try root.object("preprocess_cfg"), imageSize: model.vision.imageSize)
    }

    private static func flag(_ reader: CheckpointJSONReader, _ key: String) throws -> Bool {
        guard let value = reader.value(key), value != .null else { return false }
        guard case .bool(let flag) = value else { throw reader.failure(key, "expected true or false") }
        return flag
    }

    /// Refuses each of `keys` that is present and set (not null, false, 0 or the given default).
    private static func refuse(_ reader: CheckpointJSONReader, _ keys: [String], unlessString allowed: [String: String] = [:]) throws {
        for key in keys {
            guard let value = reader.value(key), value != .null, value != .bool(false) else { continue }
            if let expected = allowed[key], value.stringValue == expected { continue }
            if let number = value.doubleValue, number == 0 { continue }
            throw reader.failure(key, "\(value) is not supported by this encoder")
        }
    }

    private static func readVision(_ reader: CheckpointJSONReader, activation: Activation) throws -> CLIPConfiguration.Vision {
        try refuse(reader, ["timm_model_name", "ls_init_value", "attentional_pool", "no_ln_pre", "pool_type", "act_kwargs", "norm_kwargs",
                            "global_average_pool", "input_patchnorm"],
                   unlessString: ["pool_type": "tok"])
        var vision = CLIPConfiguration.Vision()
        vision.activation = activation
        vision.imageSize = try squareSize(reader, "image_size", default: 224)
        let width = try reader.positiveInteger("width", default: 768)
        let headWidth = try reader.positiveInteger("head_width", default: 64)
        if let stages = reader.value("layers")?.integerArray {
            guard stages.count == 4, stages.allSatisfy({ $0 > 0 }) else {
                throw reader.failure("layers", "a ResNet needs four positive stage depths, got \(stages)")
            }
            guard (32 * width) % headWidth == 0 else {
                throw reader.failure("head_width", "\(headWidth) does not divide the attention pool's width \(32 * width)")
            }
            guard vision.imageSize % 32 == 0 else {
                throw reader.failure("image_size", "\(vision.imageSize) is not a multiple of 32, the ResNet's total stride")
            }
            vision.resNet = CLIPConfiguration.ResNet(blockCounts: stages, width: width, headCount: 32 * width / headWidth)
            vision.hiddenSize = 32 * width
            return vision
        }
        vision.hiddenSize = width
        vision.layerCount = try reader.positiveInteger("layers", default: 12)
        guard width % headWidth == 0 else { throw reader.failure("head_width", "\(headWidth) does not divide width \(width)") }
        vision.headCount = width / headWidth
        vision.intermediateSize = try mlpWidth(reader, width: width)
        vision.patchSize = try squareSize(reader, "patch_size", default: 16)
        guard vision.imageSize % vision.patchSize == 0 else {
            throw reader.failure("image_size", "\(vision.imageSize) is not divisible by patch_size \(vision.patchSize)")
        }
        return vision
    }

    private static func readText(_ reader: CheckpointJSONReader, activation: Activation) throws -> CLIPConfiguration.Text {
        try refuse(reader, ["hf_model_name", "ls_init_value", "embed_cls", "no_causal_mask", "proj_bias", "pool_type", "proj_type",
                            "act_kwargs", "norm_kwargs"],
                   unlessString: ["pool_type": "argmax", "proj_type": "linear"])
        var text = CLIPConfiguration.Text()
        text.activation = activation
        text.vocabularySize = try reader.positiveInteger("vocab_size", default: 49408)
        text.hiddenSize = try reader.positiveInteger("width", default: 512)
        text.headCount = try reader.positiveInteger("heads", default: 8)
        text.layerCount = try reader.positiveInteger("layers", default: 12)
        text.maximumPositionCount = try reader.positiveInteger("context_length", default: 77)
        text.intermediateSize = try mlpWidth(reader, width: text.hiddenSize)
        guard text.hiddenSize % text.headCount == 0 else {
            throw reader.failure("heads", "\(text.headCount) does not divide width \(text.hiddenSize)")
        }
        return text
    }

    /// `Int(width · mlp_ratio)`, as open_clip sizes its MLPs; `mlp_ratio` defaults to 4.
    private static func mlpWidth(_ reader: CheckpointJSONReader, width: Int) throws -> Int {
        let ratio = try reader.double("mlp_ratio", default: 4)
        guard ratio > 0, ratio < 64 else { throw reader.failure("mlp_ratio", "must be in (0, 64), got \(ratio)") }
        return Int(Double(width) * ratio)
    }

    private static func squareSize(_ reader: CheckpointJSONReader, _ key: String, default defaultValue: Int) throws -> Int {
        guard let value = reader.value(key), value != .null else { return defaultValue }
        if let pair = value.integerArray {
            guard pair.count == 2, pair[0] == pair[1], pair[0] > 0 else {
                throw reader.failure(key, "expected a positive integer or a square [height, width] pair, got \(pair)")
            }
            return pair[0]
        }
        return try reader.positiveInteger(key, default: defaultValue)
    }

    /// open_clip's evaluation transform: resize the shorter side to the image size and center crop
    /// (`resize_mode` `shortest`, its default) or resize both sides to it (`squash`); normalise
    /// with `mean` / `std` (OpenAI's by default).
    private static func readPreprocessing(_ reader: CheckpointJSONReader?, imageSize: Int) throws -> PreprocessorConfiguration {
        var configuration = PreprocessorConfiguration(shortestEdge: imageSize, cropSize: imageSize)
        guard let reader else { return configuration }
        if let size = reader.value("size"), size != .null {
            let side = try squareSize(reader, "size", default: imageSize)
            guard side == imageSize else {
                throw reader.failure("size", "\(side) differs from model_cfg.vision_cfg.image_size \(imageSize) (\(size))")
            }
        }
        for key in ["mean", "std"] {
            guard let value = reader.value(key), value != .null else { continue }
            guard let numbers = value.doubleArray, numbers.count == 3, numbers.allSatisfy(\.isFinite) else {
                throw reader.failure(key, "expected three numbers (R, G, B)")
            }
            let floats = numbers.map { Float($0) }
            if key == "mean" { configuration.imageMean = floats } else { configuration.imageStandardDeviation = floats }
        }
        guard configuration.imageStandardDeviation.allSatisfy({ $0 > 0 }) else {
            throw reader.failure("std", "every value must be positive, got \(configuration.imageStandardDeviation)")
        }
        switch try reader.string("interpolation", default: "bicubic") {
        case "bicubic": configuration.resample = .bicubic
        case "bilinear": configuration.resample = .bilinear
        case let other: throw reader.failure("interpolation", "unsupported '\(other)' (supported: bicubic, bilinear)")
        }
        let mode = try reader.string("resize_mode", default: "shortest")
        guard let resizeMode = PreprocessorConfiguration.ResizeMode(rawValue: mode) else {
            throw reader.failure("resize_mode", "unsupported '\(mode)' (supported: shortest, open_clip's default, and squash)")
        }
        configuration.resizeMode = resizeMode
        return configuration
    }
}
