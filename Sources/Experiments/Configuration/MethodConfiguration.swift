import Adaptation
import CLIPEncoder
import ConfidentSelector
import Datasets
import Foundation
import PrototypeTrainer
import Support

extension ExperimentConfiguration {
    /// `prompts`: the templates of the text classifier; `{}` stands for the class name.
    public struct Prompts: Sendable, Equatable {
        /// Averaged over when more than one (an ensemble).
        public var templates: [String]
        /// Cut prompts longer than the model's context (a warning per cut prompt) instead of
        /// refusing them (`prompts.truncate`, off by default).
        public var truncate = false

        public init(templates: [String]) {
            self.templates = templates
        }

        init(reading reader: ConfigurationReader) {
            let single = reader.string("template")
            let list = reader.strings("templates")
            truncate = reader.bool("truncate", default: false)
            templates = list ?? single.map { [$0] } ?? []
            if single != nil, list != nil {
                reader.invalid("template", value: single ?? "", reason: "give either 'template' or 'templates', not both")
            } else if single == nil, list == nil, !reader.has("template"), !reader.has("templates") {
                reader.missing("templates")
            }
            if let list, list.isEmpty { reader.invalid("templates", value: "[]", reason: "must hold at least one template") }
            for template in templates where template.components(separatedBy: "{}").count != 2 {
                reader.invalid(list == nil ? "template" : "templates", value: template,
                               reason: "a template must contain '{}' exactly once (where the class name goes)")
            }
        }

        var node: ConfigurationNode { .section([("templates", .strings(templates)), ("truncate", .bool(truncate))]) }
    }

    /// `selection`: the paper's confident selection (UPL) of zero-shot pseudo-labeled images,
    /// used by the paper's recipe and the training-free Tip-Adapter on pseudo-labels.
    public struct Selection: Sendable, Equatable {
        /// The most confident images kept per class.
        public var topK = SelectionConfiguration().topK
        /// Images whose top softmax probability is below this are never selected.
        public var minConfidence: Double?

        public init() {}

        init(reading reader: ConfigurationReader) {
            topK = reader.int("top_k", default: SelectionConfiguration().topK, minimum: 1, maximum: 1_000_000)
            minConfidence = reader.double("min_confidence")
            if let minConfidence, !(minConfidence >= 0 && minConfidence < 1) {
                reader.invalid("min_confidence", value: formatNumber(minConfidence), reason: "must be in [0, 1): no softmax probability of several classes reaches 1")
            }
        }

        /// The rule this section describes.
        public var rule: SelectionRule { minConfidence.map { .minimumConfidence($0) } ?? .topK(topK) }

        /// `top_k` and `min_confidence` exclude each other: the one not in use is written as `null`.
        var node: ConfigurationNode {
            .section([("top_k", minConfidence == nil ? .int(topK) : .null(origin: .resolved)), ("min_confidence", .double(minConfidence))])
        }
    }

    /// `prototypes`: how the selected features become the adapter's keys.
    public struct Prototypes: Sendable, Equatable {
        public var kind: PrototypeKind = .mean
        /// Random-resized-crop + flip views averaged into each selected feature (0: none).
        public var augmentViews: Int = 0

        public init() {}

        init(reading reader: ConfigurationReader) {
            kind = reader.choice("kind", default: .mean)
            augmentViews = reader.int("augment_views", default: 0, minimum: 0, maximum: 64)
        }

        var node: ConfigurationNode { .section([("kind", .string(kind.rawValue)), ("augment_views", .int(augmentViews))]) }
    }

    /// `adapter`: the residual prototype head `logits0 + α · exp(-β (1 - A)) · L`.
    public struct Adapter: Sendable, Equatable {
        /// Weight of the prototype logits (Tip-Adapter's α): the head prototypes are trained
        /// under, and the paper's recipe's fixed value.
        public var alpha: Double = 1
        /// Sharpness of the affinity (Tip-Adapter's β), likewise.
        public var beta: Double = 1
        /// Scale of the zero-shot logits `s · F · Wᵀ`; `nil` uses the checkpoint's learned
        /// `exp(logit_scale)` (100 for OpenAI's CLIP), or 100 when the checkpoint has none.
        public var logitScale: Double?

        public init() {}

        init(reading reader: ConfigurationReader) {
            alpha = reader.double("alpha", default: 1)
            beta = reader.double("beta", default: 1)
            logitScale = reader.double("logit_scale")
            if let logitScale, !(logitScale > 0 && logitScale <= 1000) {
                reader.invalid("logit_scale", value: formatNumber(logitScale), reason: "must be above 0 and at most 1000")
            }
            if !(alpha >= 0 && alpha <= 1000) { reader.invalid("alpha", value: formatNumber(alpha), reason: "must be in [0, 1000]") }
            if !(beta > 0 && beta <= 1000) { reader.invalid("beta", value: formatNumber(beta), reason: "must be in (0, 1000]") }
        }

        /// The head these values describe.
        public var head: HeadParameters { HeadParameters(alpha: Float(alpha), beta: Float(beta)) }

        var node: ConfigurationNode {
            .section([("alpha", .double(alpha)), ("beta", .double(beta)), ("logit_scale", .double(logitScale))])
        }
    }

    /// `model_selection`: the label-free choice of K, α and β from a grid (the rows
    /// "UP-Adapter (K, α, β by …)", one per criterion).
    public struct ModelSelection: Sendable, Equatable {
        public var criteria: [LabelFreeCriterion] = LabelFreeCriterion.allCases
        /// Candidate K per class.
        public var topKGrid = [16, 64, 256, 1024]
        /// Candidate shares of the pool per class (K = share · images / classes).
        public var poolShareGrid = [0.25, 0.5]
        /// Candidate confidence thresholds (every image at or above one, not class-balanced).
        public var minConfidenceGrid: [Double] = []
        public var alphaGrid: [Double] = [0.5, 1, 2, 3, 5, 7.5, 10]
        public var betaGrid: [Double] = [0.5, 1, 2, 3, 5, 7]
        /// Share of each class's selected images held out by `held_out_pseudo_labels`.
        public var holdoutFraction = 0.25
        /// Pool images (drawn with the seed) every candidate is scored on.
        public var scoringSample = 10_000
        /// Images of the scoring sample used by soft neighbourhood density (quadratic cost).
        public var neighbourhoodSample = 1000

        public init() {}

        init(reading reader: ConfigurationReader) {
            let defaults = ModelSelection()
            if let names = reader.strings("criteria") {
                criteria = []
                for name in names {
                    guard let criterion = LabelFreeCriterion(rawValue: name) else {
                        reader.invalid("criteria", value: name, reason: "expected one of " + LabelFreeCriterion.allCases.map(\.rawValue).joined(separator: ", "))
                        continue
                    }
                    if !criteria.contains(criterion) { criteria.append(criterion) }
                }
            }
            topKGrid = reader.ints("top_k_grid") ?? defaults.topKGrid
            for k in topKGrid where k > 1_000_000 { reader.invalid("top_k_grid", value: String(k), reason: "every K must be at most 1000000") }
            poolShareGrid = reader.doubles("pool_share_grid") ?? defaults.poolShareGrid
            minConfidenceGrid = reader.doubles("min_confidence_grid") ?? defaults.minConfidenceGrid
            for threshold in minConfidenceGrid where !(threshold >= 0 && threshold < 1) {
                reader.invalid("min_confidence_grid", value: formatNumber(threshold), reason: "every threshold must be in [0, 1)")
            }
            alphaGrid = reader.doubles("alpha_grid") ?? defaults.alphaGrid
            betaGrid = reader.doubles("beta_grid") ?? defaults.betaGrid
            holdoutFraction = reader.double("holdout_fraction", default: defaults.holdoutFraction)
            scoringSample = reader.int("scoring_sample", default: defaults.scoringSample, minimum: 10, maximum: 10_000_000)
            neighbourhoodSample = reader.int("neighbourhood_sample", default: defaults.neighbourhoodSample, minimum: 2, maximum: 100_000)
            if !(holdoutFraction > 0 && holdoutFraction < 1) {
                reader.invalid("holdout_fraction", value: formatNumber(holdoutFraction), reason: "must be in (0, 1)")
            }
            for k in topKGrid where k < 1 { reader.invalid("top_k_grid", value: String(k), reason: "every K must be at least 1") }
            for share in poolShareGrid where !(share > 0 && share <= 1) {
                reader.invalid("pool_share_grid", value: formatNumber(share), reason: "every share must be in (0, 1]")
            }
            if topKGrid.isEmpty, poolShareGrid.isEmpty, minConfidenceGrid.isEmpty {
                reader.invalid("top_k_grid", value: "[]", reason: "top_k_grid, pool_share_grid and min_confidence_grid are all empty")
            }
            for (key, grid) in [("alpha_grid", alphaGrid), ("beta_grid", betaGrid)] where grid.isEmpty {
                reader.invalid(key, value: "[]", reason: "must hold at least one value")
            }
            for alpha in alphaGrid where !(alpha >= 0 && alpha <= 1000) { reader.invalid("alpha_grid", value: formatNumber(alpha), reason: "α must be in [0, 1000]") }
            for beta in betaGrid where !(beta > 0 && beta <= 1000) { reader.invalid("beta_grid", value: formatNumber(beta), reason: "β must be in (0, 1000]") }
        }

        /// The candidate selection rules: K values, then shares of the pool, then thresholds.
        public var rules: [SelectionRule] {
            topKGrid.map { .topK($0) } + poolShareGrid.map { .poolShare($0) } + minConfidenceGrid.map { .minimumConfidence($0) }
        }

        var node: ConfigurationNode {
            .section([
                ("criteria", .strings(criteria.map(\.rawValue))),
                ("top_k_grid", .ints(topKGrid)),
                ("pool_share_grid", .doubles(poolShareGrid)),
                ("min_confidence_grid", .doubles(minConfidenceGrid)),
                ("alpha_grid", .doubles(alphaGrid)),
                ("beta_grid", .doubles(betaGrid)),
                ("holdout_fraction", .double(holdoutFraction)),
                ("scoring_sample", .int(scoringSample)),
                ("neighbourhood_sample", .int(neighbourhoodSample)),
            ])
        }
    }

    /// `self_training`: the default label-free variant, UP-Adapter retrained on the pool
    /// re-pseudo-labeled by the adapted classifier (row "UP-Adapter + self-training").
    public struct SelfTraining: Sendable, Equatable {
        /// Rounds of selection and training (1 = plain UP-Adapter with this section's rule).
        public var rounds = 4
        /// Per class, K = share · images / classes most confident images in every round.
        public var poolShare: Double? = 0.5
        /// Or a fixed K per class (when given, it replaces the share).
        public var topK: Int?
        /// The pool criterion that chooses the final α and β from model_selection's grid, or nil
        /// (`fixed`, the default chosen by the method study) to keep adapter.alpha and adapter.beta.
        public var criterion: LabelFreeCriterion?

        public init() {}

        init(reading reader: ConfigurationReader) {
            let defaults = SelfTraining()
            rounds = reader.int("rounds", default: defaults.rounds, minimum: 1)
            if rounds > 100 { reader.invalid("rounds", value: String(rounds), reason: "at most 100 rounds") }
            topK = reader.int("top_k")
            if let topK, topK < 1 { reader.invalid("top_k", value: String(topK), reason: "must be at least 1") }
            poolShare = topK == nil ? (reader.has("pool_share") ? reader.double("pool_share") : defaults.poolShare) : reader.double("pool_share")
            if topK != nil, poolShare != nil { reader.invalid("pool_share", value: formatNumber(poolShare ?? 0), reason: "give either top_k or pool_share, not both") }
            if let poolShare, !(poolShare > 0 && poolShare <= 1) { reader.invalid("pool_share", value: formatNumber(poolShare), reason: "must be in (0, 1]") }
            if topK == nil, poolShare == nil { reader.invalid("pool_share", value: "null", reason: "give top_k or pool_share") }
            let name = reader.string("criterion", default: defaults.criterion?.rawValue ?? "fixed")
            if name == "fixed" {
                criterion = nil
            } else if let parsed = LabelFreeCriterion(rawValue: name), parsed.scoresPool {
                criterion = parsed
            } else {
                reader.invalid("criterion", value: name, reason: "expected fixed or a pool criterion: "
                               + LabelFreeCriterion.allCases.filter(\.scoresPool).map(\.rawValue).joined(separator: ", "))
            }
        }

        /// The rule every round selects with.
        public var rule: SelectionRule { topK.map { .topK($0) } ?? .poolShare(poolShare ?? 0.5) }

        var node: ConfigurationNode {
            .section([
                ("rounds", .int(rounds)),
                ("pool_share", .double(poolShare)),
                ("top_k", .int(topK)),
                ("criterion", .string(criterion?.rawValue ?? "fixed")),
            ])
        }
    }

    /// `training`: AdamW with cosine decay on the pseudo-labeled selection; the defaults are
    /// the trainer's (`TrainingConfiguration`).
    static func readTraining(_ reader: ConfigurationReader) -> TrainingConfiguration {
        let defaults = TrainingConfiguration()
        var training = defaults
        training.epochs = reader.int("epochs", default: defaults.epochs, minimum: 1, maximum: 100_000)
        training.batchSize = reader.int("batch_size", default: defaults.batchSize, minimum: 1, maximum: 1 << 20)
        let learningRate = reader.double("learning_rate", default: Double(defaults.learningRate))
        let weightDecay = reader.double("weight_decay", default: Double(defaults.weightDecay))
        let epsilon = reader.double("epsilon", default: Double(defaults.epsilon))
        training.seed = UInt64(reader.int("seed", default: Int(defaults.seed), minimum: 0))
        if !(learningRate > 0 && learningRate <= 10) { reader.invalid("learning_rate", value: formatNumber(learningRate), reason: "must be in (0, 10]") }
        if !(weightDecay >= 0 && weightDecay <= 10) { reader.invalid("weight_decay", value: formatNumber(weightDecay), reason: "must be in [0, 10]") }
        if !(epsilon > 0 && epsilon <= 1) { reader.invalid("epsilon", value: formatNumber(epsilon), reason: "must be in (0, 1]") }
        training.learningRate = Float(learningRate)
        training.weightDecay = Float(weightDecay)
        training.epsilon = Float(epsilon)
        return training
    }

    static func trainingNode(_ training: TrainingConfiguration) -> ConfigurationNode {
        // The shortest decimal of each single-precision value, so 0.001 reads back as 0.001.
        func decimal(_ value: Float) -> Double { Double(value.description) ?? Double(value) }
        return .section([
            ("epochs", .int(training.epochs)),
            ("batch_size", .int(training.batchSize)),
            ("learning_rate", .double(decimal(training.learningRate))),
            ("weight_decay", .double(decimal(training.weightDecay))),
            ("epsilon", .double(decimal(training.epsilon))),
            ("seed", .int(Int(training.seed))),
        ])
    }

    /// `baselines`: the label-using comparison points run on the same cached features.
    public struct Baselines: Sendable, Equatable {
        /// Shot counts of supervised Tip-Adapter runs with true labels (empty: none).
        public var supervisedShots = [1, 2, 4, 8, 16]
        /// Also fine-tune the supervised caches (Tip-Adapter-F).
        public var supervisedFinetune = true

        public init() {}

        init(reading reader: ConfigurationReader) {
            supervisedShots = reader.ints("supervised_shots") ?? Baselines().supervisedShots
            supervisedFinetune = reader.bool("supervised_finetune", default: true)
            for shots in supervisedShots where shots < 1 || shots > 100_000 {
                reader.invalid("supervised_shots", value: String(shots), reason: "shot counts must be in [1, 100000]")
            }
            if Set(supervisedShots).count != supervisedShots.count {
                reader.invalid("supervised_shots", value: supervisedShots.map(String.init).joined(separator: ", "),
                               reason: "a shot count appears twice")
            }
        }

        var node: ConfigurationNode {
            .section([("supervised_shots", .ints(supervisedShots)), ("supervised_finetune", .bool(supervisedFinetune))])
        }
    }

    /// `extraction`: feature extraction.
    public struct Extraction: Sendable, Equatable {
        /// Images encoded per batch.
        public var batchSize = 64
        /// Images per checkpointed chunk of an extraction: an interrupted run resumes from the
        /// last complete chunk.
        public var chunkSize = 1024
        /// The preprocessing pipeline (`PreprocessingPipeline`): `openai`, `transformers-pil` or
        /// `transformers`; nil (`auto`, the default) lets the checkpoint format pick (`openai` for
        /// open_clip folders, `transformers-pil` for Hugging Face folders).
        public var preprocessing: PreprocessingPipeline?
        /// Where the center crop starts when `(side − crop) / 2` is a half, replacing the
        /// pipeline's own rule: `openai`, `transformers` or `transformers-torchvision`; nil
        /// (`pipeline`, the default) keeps the pipeline's rule.
        public var cropRounding: CenterCropRounding?
        /// How JPEG files are decoded: `full` (the default; pixels equal the references') or
        /// `draft` (reduced by 2, 4 or 8 in libjpeg-turbo's inverse DCT before the resize, as
        /// Pillow's `Image.draft`: faster on large photos, pixels differ).
        public var jpegDecoding: JPEGDecoding = .full

        public init() {}

        init(reading reader: ConfigurationReader) {
            batchSize = reader.int("batch_size", default: 64, minimum: 1, maximum: 4096)
            chunkSize = reader.int("chunk_size", default: 1024, minimum: 1, maximum: 1 << 20)
            if let name = reader.string("preprocessing"), name != "auto" {
                preprocessing = PreprocessingPipeline(rawValue: name)
                if preprocessing == nil {
                    reader.invalid("preprocessing", value: name, reason: "expected one of auto, "
                                   + PreprocessingPipeline.acceptedNames.joined(separator: ", "))
                }
            }
            if let name = reader.string("crop_rounding"), name != "pipeline" {
                cropRounding = CenterCropRounding(rawValue: name)
                if cropRounding == nil {
                    reader.invalid("crop_rounding", value: name, reason: "expected one of pipeline, "
                                   + CenterCropRounding.allCases.map(\.rawValue).joined(separator: ", "))
                }
            }
            jpegDecoding = reader.choice("jpeg_decoding", default: .full)
        }

        var node: ConfigurationNode {
            .section([
                ("batch_size", .int(batchSize)), ("chunk_size", .int(chunkSize)),
                ("preprocessing", .string(preprocessing?.rawValue ?? "auto")),
                ("crop_rounding", .string(cropRounding?.rawValue ?? "pipeline")),
                ("jpeg_decoding", .string(jpegDecoding.rawValue)),
            ])
        }
    }
}
