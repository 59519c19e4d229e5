import Compute
import FileIntegrity
import Foundation
import Support

/// Dimensions of a CLIP model, read from a Hugging Face `config.json`.
///
/// Released configs often leave out fields and rely on the library defaults, so every field
/// missing from the file takes the default of the reference `CLIPTextConfig` /
/// `CLIPVisionConfig` / `CLIPConfig` (those of ViT-B/32). Older files hold the values in
/// `text_config_dict` / `vision_config_dict`: as in the reference, such a member (when present
/// and not null) is completed with the defaults and replaces `text_config` / `vision_config`.
public struct CLIPConfiguration: Sendable, Equatable {
    /// The vision tower (`vision_config`).
    public struct Vision: Sendable, Equatable {
        /// Token width; default 768.
        public var hiddenSize: Int = 768
        /// MLP inner width; default 3072.
        public var intermediateSize: Int = 3072
        /// Transformer blocks; default 12.
        public var layerCount: Int = 12
        /// Attention heads; default 12.
        public var headCount: Int = 12
        /// Input side in pixels; default 224.
        public var imageSize: Int = 224
        /// Patch side in pixels; default 32.
        public var patchSize: Int = 32
        /// Layer-norm epsilon; default 1e-5.
        public var layerNormEpsilon: Float = 1e-5
        /// MLP nonlinearity (`hidden_act`); default QuickGELU.
        public var activation: Activation = .quickGELU
        /// Input channels; default 3.
        public var channelCount: Int = 3
        /// The ModifiedResNet tower's sizes when the image tower is a ResNet (open_clip's
        /// `vision_cfg.layers` given as four stage depths); `nil` for a vision transformer, whose
        /// sizes are the fields above.
        public var resNet: ResNet? = nil

        public init() {}

        /// Patches per side, `imageSize / patchSize`.
        public var patchesPerSide: Int { imageSize / patchSize }
        /// Tokens per image: the class token plus one per patch, e.g. 50 for ViT-B/32.
        public var tokenCount: Int { patchesPerSide * patchesPerSide + 1 }
        /// Width of one attention head.
        public var headSize: Int { hiddenSize / headCount }
    }

    /// The sizes of OpenAI's ModifiedResNet image tower (RN50, RN101, RN50x4, RN50x16, RN50x64).
    public struct ResNet: Sendable, Equatable {
        /// Bottleneck blocks in each of the four stages, e.g. `[3, 4, 6, 3]` for RN50.
        public var blockCounts: [Int]
        /// The stem's output width (`vision_cfg.width`, 64 for RN50); stage `s` has
        /// `width · 2^s` inner channels and four times as many outputs.
        public var width: Int
        /// Heads of the attention pool: `32 · width / head_width`.
        public var headCount: Int

        public init(blockCounts: [Int], width: Int, headCount: Int) {
            self.blockCounts = blockCounts
            self.width = width
            self.headCount = headCount
        }

        /// Channels of the last stage and of the attention pool: `32 · width`.
        public var featureWidth: Int { 32 * width }
    }

    /// The text tower (`text_config`).
    public struct Text: Sendable, Equatable {
        /// Token vocabulary size; default 49408.
        public var vocabularySize: Int = 49408
        /// Token width; default 512.
        public var hiddenSize: Int = 512
        /// MLP inner width; default 2048.
        public var intermediateSize: Int = 2048
        /// Transformer blocks; default 12.
        public var layerCount: Int = 12
        /// Attention heads; default 8.
        public var headCount: Int = 8
        /// Context length; default 77.
        public var maximumPositionCount: Int = 77
        /// Layer-norm epsilon; default 1e-5.
        public var layerNormEpsilon: Float = 1e-5
        /// MLP nonlinearity (`hidden_act`); default QuickGELU.
        public var activation: Activation = .quickGELU

        public init() {}

        /// Width of one attention head.
        public var headSize: Int { hiddenSize / headCount }
    }

    /// Vision tower dimensions.
    public var vision = Vision()
    /// Text tower dimensions.
    public var text = Text()
    /// Width of the joint embedding space (`projection_dim`); default 512.
    public var projectionSize: Int = 512
    /// Initial value of the logit-scale parameter (`logit_scale_init_value`, a logarithm);
    /// default 2.6592 = log(1/0.07).
    public var logitScaleInitialValue: Float = 2.6592

    /// The defaults: ViT-B/32 dimensions.
    public init() {}

    /// Reads `config.json` at `url`.
    /// - Throws: `CLIPEncoderError.fileAccessFailed` when unreadable, `.invalidConfiguration`
    ///   naming the key for a malformed or inconsistent value.
    public init(contentsOf url: URL) throws {
        try RegularFile.require(url)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CLIPEncoderError.fileAccessFailed(path: url.path, operation: "read", reason: ReadableError.reason(error))
        }
        try self.init(json: data, path: url.path)
    }

    /// Reads configuration JSON `data`; `path` names it in errors.
    /// - Throws: `CLIPEncoderError.invalidConfiguration` naming the key.
    public init(json data: Data, path: String) throws {
        let root = try CheckpointJSONReader(data: data, path: path)
        projectionSize = try root.positiveInteger("projection_dim", default: 512)
        logitScaleInitialValue = Float(try root.double("logit_scale_init_value", default: 2.6592))

        let emptyVision = CheckpointJSONReader(path: path, prefix: "vision_config.", members: [:])
        vision = try Self.readVision(
            try root.object("vision_config_dict") ?? root.object("vision_config") ?? emptyVision)

        let emptyText = CheckpointJSONReader(path: path, prefix: "text_config.", members: [:])
        text = try Self.readText(
            try root.object("text_config_dict") ?? root.object("text_config") ?? emptyText)
    }

    private static func readVision(_ reader: CheckpointJSONReader) throws -> Vision {
        var vision = Vision()
        vision.hiddenSize = try reader.positiveInteger("hidden_size", default: vision.hiddenSize)
        vision.intermediateSize = try reader.positiveInteger("intermediate_size", default: vision.intermediateSize)
        vision.layerCount = try reader.positiveInteger("num_hidden_layers", default: vision.layerCount)
        vision.headCount = try reader.positiveInteger("num_attention_heads", default: vision.headCount)
        vision.imageSize = try squareSize(reader, "image_size", default: vision.imageSize)
        vision.patchSize = try squareSize(reader, "patch_size", default: vision.patchSize)
        vision.layerNormEpsilon = try epsilon(reader, default: vision.layerNormEpsilon)
        vision.activation = try activation(reader, default: vision.activation)
        vision.channelCount = try reader.positiveInteger("num_channels", default: vision.channelCount)
        guard vision.hiddenSize % vision.headCount == 0 else {
            throw reader.failure(
                "hidden_size", "\(vision.hiddenSize) is not divisible by num_attention_heads \(vision.headCount)")
        }
        guard vision.imageSize % vision.patchSize == 0 else {
            throw reader.failure(
                "image_size", "\(vision.imageSize) is not divisible by patch_size \(vision.patchSize)")
        }
        return vision
    }

    private static func readText(_ reader: CheckpointJSONReader) throws -> Text {
        var text = Text()
        text.vocabularySize = try reader.positiveInteger("vocab_size", default: text.vocabularySize)
        text.hiddenSize = try reader.positiveInteger("hidden_size", default: text.hiddenSize)
        text.intermediateSize = try reader.positiveInteger("intermediate_size", default: text.intermediateSize)
        text.layerCount = try reader.positiveInteger("num_hidden_layers", default: text.layerCount)
        text.headCount = try reader.positiveInteger("num_attention_heads", default: text.headCount)
        text.maximumPositionCount = try reader.positiveInteger(
            "max_position_embeddings", default: text.maximumPositionCount)
        text.layerNormEpsilon = try epsilon(reader, default: text.layerNormEpsilon)
        text.activation = try activation(reader, default: text.activation)
        guard text.hiddenSize % text.headCount == 0 else {
            throw reader.failure(
                "hidden_size", "\(text.hiddenSize) is not divisible by num_attention_heads \(text.headCount)")
        }
        return text
    }

    /// A size given as one integer or as a `[height, width]` pair with equal sides.
    private static func squareSize(_ reader: CheckpointJSONReader, _ key: String, default defaultValue: Int) throws -> Int {
        guard let value = reader.value(key) else { return defaultValue }
        if let pair = value.integerArray {
            guard pair.count == 2, pair[0] == pair[1], pair[0] > 0 else {
                throw reader.failure(key, "expected a positive integer or a square [height, width] pair, got \(pair)")
            }
            return pair[0]
        }
        return try reader.positiveInteger(key, default: defaultValue)
    }

    private static func epsilon(_ reader: CheckpointJSONReader, default defaultValue: Float) throws -> Float {
        let value = try reader.double("layer_norm_eps", default: Double(defaultValue))
        guard value > 0, value <= 1 else { throw reader.failure("layer_norm_eps", "must be in (0, 1], got \(value)") }
        return Float(value)
    }

    private static func activation(_ reader: CheckpointJSONReader, default defaultValue: Activation) throws -> Activation {
        guard reader.has("hidden_act") else { return defaultValue }
        let name = try reader.string("hidden_act", default: "")
        switch name {
        case "quick_gelu": return .quickGELU
        case "gelu": return .gelu
        default:
            throw reader.failure("hidden_act", "unsupported activation '\(name)' (supported: quick_gelu, gelu)")
        }
    }
}
