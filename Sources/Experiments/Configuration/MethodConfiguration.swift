import Adaptation
import CLIPEncoder
import PseudoLabeling
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
        public var truncate = ConfigurationKeys.Prompts.truncate.defaultValue

        public init(templates: [String]) {
            self.templates = templates
        }

        init(reading reader: ConfigurationReader) {
            let single = reader.string("template")
            let list = reader.strings("templates")
            truncate = reader.value(ConfigurationKeys.Prompts.truncate)
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

        var node: ConfigurationNode { .section([("templates", .strings(templates)), ConfigurationKeys.Prompts.truncate.entry(truncate)]) }
    }

    /// `selection`: the paper's confident selection (UPL) of zero-shot pseudo-labeled images,
    /// used by the paper's recipe and the training-free Tip-Adapter on pseudo-labels.
    public struct Selection: Sendable, Equatable {
        /// The most confident images kept per class.
        public var topK = Key.topK.defaultValue
        /// Images whose top softmax probability is below this are never selected.
        public var minConfidence = Key.minConfidence.defaultValue

        private typealias Key = ConfigurationKeys.Selection

        public init() {}

        init(reading reader: ConfigurationReader) {
            topK = reader.value(Key.topK)
            minConfidence = reader.value(Key.minConfidence)
        }

        /// The rule this section describes.
        public var rule: SelectionRule { minConfidence.map { .minimumConfidence($0) } ?? .topK(topK) }

        /// `top_k` and `min_confidence` exclude each other: the one not in use is written as `null`.
        var node: ConfigurationNode {
            .section([(Key.topK.name, minConfidence == nil ? .int(topK) : .null(origin: .resolved)), Key.minConfidence.entry(minConfidence)])
        }
    }

    /// `prototypes`: how the selected features become the adapter's keys.
    public struct Prototypes: Sendable, Equatable {
        public var kind = Key.kind.defaultValue
        /// Random-resized-crop + flip views averaged into each selected feature (0: none).
        public var augmentViews = Key.augmentViews.defaultValue

        private typealias Key = ConfigurationKeys.Prototypes

        public init() {}

        init(reading reader: ConfigurationReader) {
            kind = reader.value(Key.kind)
            augmentViews = reader.value(Key.augmentViews)
        }

        var node: ConfigurationNode { .section([Key.kind.entry(kind), Key.augmentViews.entry(augmentViews)]) }
    }

    /// `adapter`: the residual prototype head `logits0 + α · exp(-β (1 - A)) · L`.
    public struct Adapter: Sendable, Equatable {
        /// Weight of the prototype logits (Tip-Adapter's α): the head prototypes are trained
        /// under, and the paper's recipe's fixed value.
        public var alpha = Key.alpha.defaultValue
        /// Sharpness of the affinity (Tip-Adapter's β), likewise.
        public var beta = Key.beta.defaultValue
        /// Scale of the zero-shot logits `s · F · Wᵀ`; `nil` uses the checkpoint's learned
        /// `exp(logit_scale)` (100 for OpenAI's CLIP), or `fallbackLogitScale` when the checkpoint has none.
        public var logitScale = Key.logitScale.defaultValue

        private typealias Key = ConfigurationKeys.Adapter

        public init() {}

        init(reading reader: ConfigurationReader) {
            alpha = reader.value(Key.alpha)
            beta = reader.value(Key.beta)
            logitScale = reader.value(Key.logitScale)
        }

        /// The zero-shot logit scale when neither `logit_scale` nor the checkpoint gives one.
        public static var fallbackLogitScale: Float { Key.fallbackLogitScale }

        /// The head these values describe.
        public var head: HeadParameters { HeadParameters(alpha: Float(alpha), beta: Float(beta)) }

        var node: ConfigurationNode {
            .section([Key.alpha.entry(alpha), Key.beta.entry(beta), Key.logitScale.entry(logitScale)])
        }
    }

    /// `model_selection`: the label-free choice of K, α and β from a grid (the rows
    /// "UP-Adapter (K, α, β by …)", one per criterion).
    public struct ModelSelection: Sendable, Equatable {
        public var criteria: [LabelFreeCriterion] = LabelFreeCriterion.allCases
        /// Candidate K per class.
        public var topKGrid = Key.topKGrid.defaultValue
        /// Candidate shares of the pool per class (K = share · images / classes).
        public var poolShareGrid = Key.poolShareGrid.defaultValue
        /// Candidate confidence thresholds (every image at or above one, not class-balanced).
        public var minConfidenceGrid = Key.minConfidenceGrid.defaultValue
        public var alphaGrid = Key.alphaGrid.defaultValue
        public var betaGrid = Key.betaGrid.defaultValue
        /// Share of each class's selected images held out by `held_out_pseudo_labels`.
        public var heldOutFraction = Key.heldOutFraction.defaultValue
        /// Pool images (drawn with the seed) every candidate is scored on.
        public var scoringSample = Key.scoringSample.defaultValue
        /// Images of the scoring sample used by soft neighbourhood density (quadratic cost).
        public var neighbourhoodSample = Key.neighbourhoodSample.defaultValue

        private typealias Key = ConfigurationKeys.ModelSelection

        public init() {}

        init(reading reader: ConfigurationReader) {
            if let names = reader.strings("criteria") {
                criteria = []
                for name in names {
                    guard let criterion = LabelFreeCriterion(named: name) else {
                        reader.invalid("criteria", value: name, reason: "expected one of " + LabelFreeCriterion.allCases.map(\.rawValue).joined(separator: ", "))
                        continue
                    }
                    if !criteria.contains(criterion) { criteria.append(criterion) }
                }
            }
            topKGrid = reader.value(Key.topKGrid)
            poolShareGrid = reader.value(Key.poolShareGrid)
            minConfidenceGrid = reader.value(Key.minConfidenceGrid)
            alphaGrid = reader.value(Key.alphaGrid)
            betaGrid = reader.value(Key.betaGrid)
            heldOutFraction = reader.value(Key.heldOutFraction)
            scoringSample = reader.value(Key.scoringSample)
            neighbourhoodSample = reader.value(Key.neighbourhoodSample)
            if topKGrid.isEmpty, poolShareGrid.isEmpty, minConfidenceGrid.isEmpty {
                reader.invalid(Key.topKGrid.name, value: "[]", reason: "top_k_grid, pool_share_grid and min_confidence_grid are all empty")
            }
            for (key, grid) in [(Key.alphaGrid, alphaGrid), (Key.betaGrid, betaGrid)] where grid.isEmpty {
                reader.invalid(key.name, value: "[]", reason: "must hold at least one value")
            }
        }

        /// The candidate selection rules: K values, then shares of the pool, then thresholds.
        public var rules: [SelectionRule] {
            topKGrid.map { .topK($0) } + poolShareGrid.map { .poolShare($0) } + minConfidenceGrid.map { .minimumConfidence($0) }
        }

        var node: ConfigurationNode {
            .section([
                (ConfigurationKeys.ModelSelection.criteria.name, .strings(criteria.map(\.rawValue))),
                Key.topKGrid.entry(topKGrid),
                Key.poolShareGrid.entry(poolShareGrid),
                Key.minConfidenceGrid.entry(minConfidenceGrid),
                Key.alphaGrid.entry(alphaGrid),
                Key.betaGrid.entry(betaGrid),
                Key.heldOutFraction.entry(heldOutFraction),
                Key.scoringSample.entry(scoringSample),
                Key.neighbourhoodSample.entry(neighbourhoodSample),
            ])
        }
    }

    /// `self_training`: the default label-free variant, UP-Adapter retrained on the pool
    /// re-pseudo-labeled by the adapted classifier (row "UP-Adapter + self-training").
    public struct SelfTraining: Sendable, Equatable {
        /// Rounds of selection and training (1 = plain UP-Adapter with this section's rule).
        public var rounds = Key.rounds.defaultValue
        /// Per class, K = share · images / classes most confident images in every round.
        public var poolShare = Key.poolShare.defaultValue
        /// Or a fixed K per class (when given, it replaces the share).
        public var topK = Key.topK.defaultValue
        /// The pool criterion that chooses the final α and β from model_selection's grid, or nil
        /// (`fixed`, the default chosen by the method study) to keep adapter.alpha and adapter.beta.
        public var criterion: LabelFreeCriterion?

        private typealias Key = ConfigurationKeys.SelfTraining

        public init() {}

        init(reading reader: ConfigurationReader) {
            rounds = reader.value(Key.rounds)
            topK = reader.value(Key.topK)
            let share = reader.has(Key.poolShare.name) ? reader.value(Key.poolShare) : nil
            poolShare = topK == nil ? share ?? Key.poolShare.defaultValue : share
            if topK != nil, poolShare != nil { reader.invalid(Key.poolShare.name, value: formatNumber(poolShare ?? 0), reason: "give either top_k or pool_share, not both") }
            if topK == nil, poolShare == nil { reader.invalid(Key.poolShare.name, value: "null", reason: "give top_k or pool_share") }
            let name = reader.value(Key.criterion)
            if name == "fixed" {
                criterion = nil
            } else if let parsed = LabelFreeCriterion(named: name), parsed.scoresPool {
                criterion = parsed
            } else {
                reader.invalid(Key.criterion.name, value: name, reason: "expected fixed or a pool criterion: "
                               + LabelFreeCriterion.allCases.filter(\.scoresPool).map(\.rawValue).joined(separator: ", "))
            }
        }

        /// The rule every round selects with.
        public var rule: SelectionRule { topK.map { .topK($0) } ?? .poolShare(poolShare ?? Key.poolShare.defaultValue ?? 0) }

        var node: ConfigurationNode {
            .section([
                Key.rounds.entry(rounds),
                Key.poolShare.entry(poolShare),
                Key.topK.entry(topK),
                Key.criterion.entry(criterion?.rawValue ?? "fixed"),
            ])
        }
    }

    /// `training`: AdamW with cosine decay on the pseudo-labeled selection; the defaults are
    /// the trainer's (`TrainingConfiguration`).
    static func readTraining(_ reader: ConfigurationReader) -> TrainingConfiguration {
        typealias Key = ConfigurationKeys.Training
        var training = Key.defaults
        training.epochs = reader.value(Key.epochs)
        training.batchSize = reader.value(Key.batchSize)
        training.learningRate = Float(reader.value(Key.learningRate))
        training.weightDecay = Float(reader.value(Key.weightDecay))
        training.epsilon = Float(reader.value(Key.epsilon))
        training.seed = UInt64(reader.value(Key.seed))
        return training
    }

    static func trainingNode(_ training: TrainingConfiguration) -> ConfigurationNode {
        typealias Key = ConfigurationKeys.Training
        // The shortest decimal of each single-precision value, so 0.001 reads back as 0.001.
        func decimal(_ value: Float) -> Double { Double(value.description) ?? Double(value) }
        return .section([
            Key.epochs.entry(training.epochs),
            Key.batchSize.entry(training.batchSize),
            Key.learningRate.entry(decimal(training.learningRate)),
            Key.weightDecay.entry(decimal(training.weightDecay)),
            Key.epsilon.entry(decimal(training.epsilon)),
            Key.seed.entry(Int(training.seed)),
        ])
    }

    /// `baselines`: the label-using comparison points run on the same cached features.
    public struct Baselines: Sendable, Equatable {
        /// Shot counts of supervised Tip-Adapter runs with true labels (empty: none).
        public var supervisedShots = Key.supervisedShots.defaultValue
        /// Also fine-tune the supervised caches (Tip-Adapter-F).
        public var supervisedFinetune = Key.supervisedFinetune.defaultValue

        private typealias Key = ConfigurationKeys.Baselines

        public init() {}

        init(reading reader: ConfigurationReader) {
            supervisedShots = reader.value(Key.supervisedShots)
            supervisedFinetune = reader.value(Key.supervisedFinetune)
            if Set(supervisedShots).count != supervisedShots.count {
                reader.invalid(Key.supervisedShots.name, value: supervisedShots.map(String.init).joined(separator: ", "),
                               reason: "a shot count appears twice")
            }
        }

        var node: ConfigurationNode {
            .section([Key.supervisedShots.entry(supervisedShots), Key.supervisedFinetune.entry(supervisedFinetune)])
        }
    }

    /// `extraction`: feature extraction.
    public struct Extraction: Sendable, Equatable {
        /// Images encoded per batch.
        public var batchSize = Key.batchSize.defaultValue
        /// Images per checkpointed chunk of an extraction: an interrupted run resumes from the
        /// last complete chunk.
        public var chunkSize = Key.chunkSize.defaultValue
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
        public var jpegDecoding = Key.jpegDecoding.defaultValue

        private typealias Key = ConfigurationKeys.Extraction

        public init() {}

        init(reading reader: ConfigurationReader) {
            batchSize = reader.value(Key.batchSize)
            chunkSize = reader.value(Key.chunkSize)
            if let name = reader.string(Key.preprocessing.name), name != Key.preprocessing.defaultValue {
                preprocessing = PreprocessingPipeline(rawValue: name)
                if preprocessing == nil {
                    reader.invalid("preprocessing", value: name, reason: "expected one of auto, "
                                   + PreprocessingPipeline.acceptedNames.joined(separator: ", "))
                }
            }
            if let name = reader.string(Key.cropRounding.name), name != Key.cropRounding.defaultValue {
                cropRounding = CenterCropRounding(rawValue: name)
                if cropRounding == nil {
                    reader.invalid("crop_rounding", value: name, reason: "expected one of pipeline, "
                                   + CenterCropRounding.allCases.map(\.rawValue).joined(separator: ", "))
                }
            }
            jpegDecoding = reader.value(Key.jpegDecoding)
        }

        var node: ConfigurationNode {
            .section([
                Key.batchSize.entry(batchSize), Key.chunkSize.entry(chunkSize),
                Key.preprocessing.entry(preprocessing?.rawValue ?? Key.preprocessing.defaultValue),
                Key.cropRounding.entry(cropRounding?.rawValue ?? Key.cropRounding.defaultValue),
                Key.jpegDecoding.entry(jpegDecoding),
            ])
        }
    }
}
