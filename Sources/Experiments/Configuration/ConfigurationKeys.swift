import Adaptation
import CLIPEncoder
import Datasets
import Foundation
import Support
import PrototypeTrainer

/// The table of configuration keys: each key's path, type, default, range and one line of doc,
/// written once. The readers and the resolved-YAML writers of the sections take names,
/// defaults and ranges from here; a test holds `Configs/base.yaml` and docs/configuration.md
/// against it (every key present, with the same default; no stray keys).
///
/// A new key: add it to its section's enum and to that enum's `keys`, read it with
/// `reader.value(key)`, write it with `key.entry(value)`, then give it a line in `base.yaml`
/// and a row in docs/configuration.md.
enum ConfigurationKeys {
    /// `selection`: the paper's confident selection (UPL).
    enum Selection {
        static let topK = ConfigurationKey<Int>(
            "selection.top_k", default: 16, range: .integers(1, 1_000_000),
            doc: "Most confident pseudo-labeled images kept per class (UPL's K).")
        static let minConfidence = ConfigurationKey<Double?>(
            "selection.min_confidence", default: nil,
            range: ConfigurationRange.openAbove(0, 1).with(why: "no softmax probability of several classes reaches 1"),
            doc: "Instead of K: every image whose top softmax probability reaches this.")
        static let keys = [topK.description, minConfidence.description]
    }

    /// `prototypes`: how the selected features become the adapter's keys.
    enum Prototypes {
        static let kind = ConfigurationKey<PrototypeKind>(
            "prototypes.kind", default: .mean, doc: "mean: one prototype per class; cache: every selected feature a key.")
        static let augmentViews = ConfigurationKey<Int>(
            "prototypes.augment_views", default: 0, range: .integers(0, 64),
            doc: "Random-resized-crop + flip views averaged into each selected feature.")
        static let keys = [kind.description, augmentViews.description]
    }

    /// `adapter`: the residual prototype head.
    enum Adapter {
        static let alpha = ConfigurationKey<Double>(
            "adapter.alpha", default: 1, range: .closed(0, 1000), doc: "Weight α of the prototype logits.")
        static let beta = ConfigurationKey<Double>(
            "adapter.beta", default: 1, range: .openBelow(0, 1000), doc: "Sharpness β of the affinity exp(-β (1 - cos)).")
        static let logitScale = ConfigurationKey<Double?>(
            "adapter.logit_scale", default: nil, range: .openBelow(0, 1000),
            doc: "Scale of the zero-shot logits; null: the checkpoint's exp(logit_scale), else `fallbackLogitScale`.")
        static let keys = [alpha.description, beta.description, logitScale.description]
        /// The zero-shot logit scale when neither the configuration nor the checkpoint gives
        /// one: OpenAI CLIP's learned value (its training clamps it at 100).
        static let fallbackLogitScale: Float = 100
    }

    /// `model_selection`: the label-free choice of K, α and β from a grid.
    enum ModelSelection {
        static let criteria = ConfigurationKeyDescription(
            path: "model_selection.criteria", typeName: "list of strings",
            defaultNode: .strings(LabelFreeCriterion.allCases.map(\.rawValue)), doc: "The label-free criteria, one row each.")
        static let topKGrid = ConfigurationKey<[Int]>(
            "model_selection.top_k_grid", default: [16, 64, 256, 1024], range: .integers(1, 1_000_000), doc: "Candidate K per class.")
        static let poolShareGrid = ConfigurationKey<[Double]>(
            "model_selection.pool_share_grid", default: [0.25, 0.5], range: .openBelow(0, 1),
            doc: "Candidate K = share · pool images / classes.")
        static let minConfidenceGrid = ConfigurationKey<[Double]>(
            "model_selection.min_confidence_grid", default: [], range: .openAbove(0, 1),
            doc: "Candidate confidence thresholds (not class-balanced).")
        static let alphaGrid = ConfigurationKey<[Double]>(
            "model_selection.alpha_grid", default: [0.5, 1, 2, 3, 5, 7.5, 10], range: .closed(0, 1000), doc: "Candidate α values.")
        static let betaGrid = ConfigurationKey<[Double]>(
            "model_selection.beta_grid", default: [0.5, 1, 2, 3, 5, 7], range: .openBelow(0, 1000), doc: "Candidate β values.")
        static let heldOutFraction = ConfigurationKey<Double>(
            "model_selection.held_out_fraction", aliases: ["holdout_fraction"], default: 0.25, range: .open(0, 1),
            doc: "held_out_pseudo_labels: share of each class's selection held out.")
        static let scoringSample = ConfigurationKey<Int>(
            "model_selection.scoring_sample", default: 10_000, range: .integers(10, 10_000_000),
            doc: "Pool images (drawn with the seed) every candidate is scored on.")
        static let neighbourhoodSample = ConfigurationKey<Int>(
            "model_selection.neighbourhood_sample", default: 1000, range: .integers(2, 100_000),
            doc: "Of those, the images soft neighbourhood density uses (quadratic cost).")
        static let keys = [
            criteria, topKGrid.description, poolShareGrid.description, minConfidenceGrid.description, alphaGrid.description,
            betaGrid.description, heldOutFraction.description, scoringSample.description, neighbourhoodSample.description,
        ]
    }

    /// `self_training`: UP-Adapter retrained on the pool re-pseudo-labeled by itself.
    enum SelfTraining {
        static let rounds = ConfigurationKey<Int>(
            "self_training.rounds", default: 4, range: .integers(1, 100), doc: "Rounds of selection and training.")
        static let poolShare = ConfigurationKey<Double?>(
            "self_training.pool_share", default: 0.5, range: .openBelow(0, 1), doc: "K = share · pool images / classes, every round.")
        static let topK = ConfigurationKey<Int?>(
            "self_training.top_k", default: nil, range: .integers(1, Int.max), presence: .stated, doc: "Or a fixed K per class.")
        static let criterion = ConfigurationKey<String>(
            "self_training.criterion", default: "fixed", doc: "fixed keeps adapter.alpha/beta; a pool criterion chooses them.")
        static let keys = [rounds.description, poolShare.description, topK.description, criterion.description]
    }

    /// `training`: AdamW with cosine decay on the pseudo-labeled selection.
    enum Training {
        static let epochs = ConfigurationKey<Int>("training.epochs", default: 20, range: .integers(1, 100_000), doc: "Epochs over the selection.")
        static let batchSize = ConfigurationKey<Int>("training.batch_size", default: 256, range: .integers(1, 1 << 20), doc: "Rows per step.")
        static let learningRate = ConfigurationKey<Double>(
            "training.learning_rate", default: 0.001, range: .openBelow(0, 10), doc: "AdamW learning rate, cosine-decayed.")
        static let weightDecay = ConfigurationKey<Double>(
            "training.weight_decay", default: 0.01, range: .closed(0, 10), doc: "AdamW decoupled weight decay.")
        static let epsilon = ConfigurationKey<Double>("training.epsilon", default: 1e-4, range: .openBelow(0, 1), doc: "AdamW ε.")
        static let seed = ConfigurationKey<Int>("training.seed", default: 1, range: .integers(0, Int.max), doc: "Seed of shuffling and initialisation.")
        static let keys = [
            epochs.description, batchSize.description, learningRate.description, weightDecay.description, epsilon.description, seed.description,
        ]

        /// The trainer's settings from these keys' defaults (AdamW's β₁, β₂ and the schedule
        /// are not configurable).
        static var defaults: TrainingConfiguration {
            TrainingConfiguration(
                epochs: epochs.defaultValue, batchSize: batchSize.defaultValue, learningRate: Float(learningRate.defaultValue),
                epsilon: Float(epsilon.defaultValue), weightDecay: Float(weightDecay.defaultValue), seed: UInt64(seed.defaultValue))
        }
    }

    /// `baselines`: the label-using comparison rows.
    enum Baselines {
        static let supervisedShots = ConfigurationKey<[Int]>(
            "baselines.supervised_shots", default: [1, 2, 4, 8, 16], range: .integers(1, 100_000),
            doc: "Shot counts of supervised Tip-Adapter with true labels.")
        static let supervisedFinetune = ConfigurationKey<Bool>(
            "baselines.supervised_finetune", default: true, doc: "Also fine-tune those caches (Tip-Adapter-F).")
        static let keys = [supervisedShots.description, supervisedFinetune.description]
    }

    /// `extraction`: feature extraction.
    enum Extraction {
        static let batchSize = ConfigurationKey<Int>(
            "extraction.batch_size", default: 64, range: .integers(1, 4096), doc: "Images per encoder batch.")
        static let chunkSize = ConfigurationKey<Int>(
            "extraction.chunk_size", default: 1024, range: .integers(1, 1 << 20), doc: "Images per checkpointed chunk of an extraction.")
        static let preprocessing = ConfigurationKey<String>(
            "extraction.preprocessing", default: "auto", doc: "The preprocessing pipeline; auto: the checkpoint format picks.")
        static let cropRounding = ConfigurationKey<String>(
            "extraction.crop_rounding", default: "pipeline", doc: "Where a center crop on a half offset starts.")
        static let jpegDecoding = ConfigurationKey<JPEGDecoding>(
            "extraction.jpeg_decoding", default: .full, doc: "full (exact pixels) or draft (reduced while decoding).")
        static let keys = [
            batchSize.description, chunkSize.description, preprocessing.description, cropRounding.description, jpegDecoding.description,
        ]
    }

    /// Keys at the top level.
    enum TopLevel {
        static let base = ConfigurationKeyDescription(
            path: "base", typeName: "path", defaultNode: .null(origin: .resolved), presence: .absent,
            doc: "Parent configuration; only in files.")
        static let methods = ConfigurationKeyDescription(
            path: "methods", typeName: "list of strings", defaultNode: .strings(MethodName.allCases.map(\.rawValue)),
            doc: "The rows of the results table, in order.")
        static let primaryMethod = ConfigurationKeyDescription(
            path: "primary_method", typeName: "string", defaultNode: .null(origin: .resolved),
            doc: "Whose adapter is written; null: prior_transport, else self_training, else the first listed.")
        static let device = ConfigurationKey<String>(
            "device", default: "auto", doc: "auto, cpu, cpu-reference, opencl or opencl:N.")
        static let cacheDirectory = ConfigurationKey<ConfigurationPath>(
            "cache_dir", default: ConfigurationPath(default: "cache"), presence: .statedWithOwnValue, doc: "The feature cache.")
        static let runsDirectory = ConfigurationKey<ConfigurationPath>(
            "runs_dir", default: ConfigurationPath(default: "runs"), presence: .statedWithOwnValue, doc: "Run folders.")
        static let keys = [
            base, methods, primaryMethod, device.description, cacheDirectory.description, runsDirectory.description,
        ]
    }

    /// Every key, section by section.
    static let all: [ConfigurationKeyDescription] =
        Model.keys + Dataset.keys + Prompts.keys + Selection.keys + Prototypes.keys + Adapter.keys + ModelSelection.keys
            + SelfTraining.keys + Training.keys + Baselines.keys + LabelFree.keys + Extraction.keys + TopLevel.keys

    /// Older key names, by section path (`model_selection`) and then old name: the name each
    /// stands for now.
    static let aliases: [String: [String: String]] = {
        var result: [String: [String: String]] = [:]
        for key in all where !key.aliases.isEmpty {
            let parts = key.path.split(separator: ".").map(String.init)
            let section = parts.dropLast().joined(separator: ".")
            for alias in key.aliases { result[section, default: [:]][alias] = parts.last }
        }
        return result
    }()
}
