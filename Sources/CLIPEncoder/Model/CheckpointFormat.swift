import Compute

/// The parameter naming of a model folder's weights: Hugging Face transformers' `CLIPModel`
/// (`vision_model.encoder.layers.N.self_attn.q_proj`, …) or open_clip / OpenAI's original
/// names (`visual.transformer.resblocks.N.attn.in_proj_weight`, `visual.layer1.0.conv1`, …).
enum CheckpointFormat: Equatable {
    case huggingFace
    /// `textPrefix` is `text.` for open_clip's `custom_text` models, else empty.
    case openCLIP(textPrefix: String)

    /// The configuration file of the format, named in errors.
    var configurationFileName: String {
        switch self {
        case .huggingFace: return "config.json"
        case .openCLIP: return "open_clip_config.json"
        }
    }

    /// Where a tower's tensors live under this naming.
    struct TowerNames {
        /// The transformer, e.g. `vision_model.encoder`, `visual.transformer`.
        let encoder: String
        /// The member holding its numbered blocks: `layers` or `resblocks`.
        let blocks: String
        /// The configuration key of the block count, for errors.
        let layerCountKey: String
        let patchEmbedding: String
        let classEmbedding: String
        let positionEmbedding: String
        let tokenEmbedding: String
        let preLayerNorm: String
        let finalLayerNorm: String
        /// The projection into the joint space.
        let projection: String
        /// Whether `projection` is stored `[width, projection]` (`x @ proj`) rather than `[projection, width]`.
        let projectionTransposed: Bool

        /// Prefix of the numbered blocks, e.g. `vision_model.encoder.layers.`.
        var layerPrefix: String { "\(encoder).\(blocks)." }
    }

    var vision: TowerNames {
        switch self {
        case .huggingFace:
            return TowerNames(
                encoder: "vision_model.encoder", blocks: "layers", layerCountKey: "vision_config.num_hidden_layers",
                patchEmbedding: "vision_model.embeddings.patch_embedding.weight", classEmbedding: "vision_model.embeddings.class_embedding",
                positionEmbedding: "vision_model.embeddings.position_embedding.weight", tokenEmbedding: "",
                preLayerNorm: "vision_model.pre_layrnorm", finalLayerNorm: "vision_model.post_layernorm",
                projection: "visual_projection.weight", projectionTransposed: false)
        case .openCLIP:
            return TowerNames(
                encoder: "visual.transformer", blocks: "resblocks", layerCountKey: "model_cfg.vision_cfg.layers",
                patchEmbedding: "visual.conv1.weight", classEmbedding: "visual.class_embedding",
                positionEmbedding: "visual.positional_embedding", tokenEmbedding: "",
                preLayerNorm: "visual.ln_pre", finalLayerNorm: "visual.ln_post",
                projection: "visual.proj", projectionTransposed: true)
        }
    }

    var text: TowerNames {
        switch self {
        case .huggingFace:
            return TowerNames(
                encoder: "text_model.encoder", blocks: "layers", layerCountKey: "text_config.num_hidden_layers",
                patchEmbedding: "", classEmbedding: "", positionEmbedding: "text_model.embeddings.position_embedding.weight",
                tokenEmbedding: "text_model.embeddings.token_embedding.weight", preLayerNorm: "",
                finalLayerNorm: "text_model.final_layer_norm", projection: "text_projection.weight", projectionTransposed: false)
        case .openCLIP(let prefix):
            return TowerNames(
                encoder: prefix + "transformer", blocks: "resblocks", layerCountKey: "model_cfg.text_cfg.layers",
                patchEmbedding: "", classEmbedding: "", positionEmbedding: prefix + "positional_embedding",
                tokenEmbedding: prefix + "token_embedding.weight", preLayerNorm: "",
                finalLayerNorm: prefix + "ln_final", projection: prefix + "text_projection", projectionTransposed: true)
        }
    }
}

extension WeightLoader {
    /// Transformer block `index` of a tower named by `names`, in `format`.
    func encoderLayer(_ format: CheckpointFormat, _ names: CheckpointFormat.TowerNames, index: Int, width: Int, intermediate: Int) throws
        -> EncoderLayerWeights {
        switch format {
        case .huggingFace: return try encoderLayer(names.encoder, index: index, width: width, intermediate: intermediate)
        case .openCLIP: return try openCLIPEncoderLayer(names.encoder, index: index, width: width, intermediate: intermediate)
        }
    }

    /// The projection `[projection, width]` of a tower named by `names`, transposed at load when
    /// the file stores it `[width, projection]`.
    func projection(_ names: CheckpointFormat.TowerNames, width: Int, projectionSize: Int) throws -> Tensor {
        names.projectionTransposed
            ? try transposedTensor(names.projection, rows: width, columns: projectionSize)
            : try tensor(names.projection, shape: [projectionSize, width])
    }
}
