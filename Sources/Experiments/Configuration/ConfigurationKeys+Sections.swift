import Adaptation
import CLIPEncoder
import Datasets
import Foundation
import Support
import PrototypeTrainer

extension ConfigurationKeys {
    /// `model`: the CLIP checkpoint.
    enum Model {
        static let path = ConfigurationKeyDescription(
            path: "model.path", typeName: "path", defaultNode: nil, presence: .statedWithOwnValue,
            doc: "CLIP model folder (Hugging Face or open_clip). Required.")
        static let keys = [path]
    }

    /// `dataset`: which images, where, and how to read them.
    enum Dataset {
        static let kind = ConfigurationKeyDescription(
            path: "dataset.kind", typeName: "string", defaultNode: nil, presence: .absent,
            doc: "coop, imagenet, imagenet-variant, folder or idx. Required.")
        static let name = ConfigurationKeyDescription(
            path: "dataset.name", typeName: "string", defaultNode: nil, presence: .absent, doc: "The dataset's name. Required.")
        static let root = ConfigurationKeyDescription(
            path: "dataset.root", typeName: "path", defaultNode: nil, presence: .absent, doc: "The data folder. Required except for idx.")
        static let unlabeledSplit = ConfigurationKey<String>(
            "dataset.unlabeled_split", default: SplitName.train, doc: "Split adapted on without labels.")
        static let testSplit = ConfigurationKey<String>("dataset.test_split", default: SplitName.test, doc: "Labeled split accuracy is reported on.")
        static let classNames = ConfigurationKey<[String]?>(
            "dataset.class_names", default: nil, doc: "Class names by label, replacing the dataset's.")
        static let classNamesFile = ConfigurationKey<ConfigurationPath?>(
            "dataset.class_names_file", default: nil, presence: .absent, doc: "A file with one class name per line.")
        static let verifyFiles = ConfigurationKey<Bool>(
            "dataset.verify_files", default: true, doc: "Check that every image a split file lists exists.")
        static let folderLayout = ConfigurationKey<ImageFolderSource.Layout>(
            "dataset.folder.layout", default: .auto, doc: "auto, split-folders or single.")
        static let folderTestFraction = ConfigurationKey<Double>(
            "dataset.folder.test_fraction", default: 0.5, range: .openAbove(0, 1), doc: "single layout: share of each class put in test.")
        static let folderValidationFraction = ConfigurationKey<Double>(
            "dataset.folder.val_fraction", default: 0, range: .openAbove(0, 1), doc: "single layout: share of each class put in val.")
        static let folderSeed = ConfigurationKey<Int>(
            "dataset.folder.seed", default: 1, range: .integers(0, Int.max), doc: "single layout: seed of the per-class shuffle.")
        static let idxFiles = ["train_images", "train_labels", "test_images", "test_labels"].map { name in
            ConfigurationKey<ConfigurationPath?>("dataset.idx.\(name)", default: nil, doc: "IDX file; null: the standard name in root.")
        }
        static let transform = ConfigurationKeyDescription(
            path: "dataset.transform", typeName: "section", defaultNode: .null(origin: .resolved),
            doc: "A deterministic transformation of every image.")
        static let transformName = ConfigurationKeyDescription(
            path: "dataset.transform.name", typeName: "string", defaultNode: nil, presence: .absent, doc: "The transformation.")
        static let transformParameters = ConfigurationKeyDescription(
            path: "dataset.transform.parameters", typeName: "section", defaultNode: nil, presence: .absent,
            doc: "Its parameters, names to numbers.")
        static let classProfile = ConfigurationKeyDescription(
            path: "dataset.class_profile", typeName: "section", defaultNode: .null(origin: .resolved),
            doc: "Keep only some images of each class (a seeded subsample).")
        static let keys = [kind, name, root, unlabeledSplit.description, testSplit.description, classNames.description,
                           classNamesFile.description, verifyFiles.description, folderLayout.description,
                           folderTestFraction.description, folderValidationFraction.description, folderSeed.description]
            + idxFiles.map(\.description) + [transform, transformName, transformParameters, classProfile] + ClassProfileSection.keys
    }

    /// `dataset.class_profile`.
    enum ClassProfileSection {
        static let kind = ConfigurationKeyDescription(
            path: "dataset.class_profile.kind", typeName: "string", defaultNode: nil, presence: .absent, doc: "long_tail, shares or counts.")
        static let imbalance = ConfigurationKeyDescription(
            path: "dataset.class_profile.imbalance", typeName: "number", defaultNode: nil, range: .atLeast(1), presence: .absent,
            doc: "long_tail: images of the largest class over the smallest.")
        static let order = ConfigurationKey<ClassProfile.Order>(
            "dataset.class_profile.order", default: .shuffled, presence: .absent, doc: "long_tail: which class is largest.")
        static let shares = ConfigurationKeyDescription(
            path: "dataset.class_profile.shares", typeName: "list of numbers", defaultNode: nil, presence: .absent,
            doc: "shares: relative class sizes, by label.")
        static let counts = ConfigurationKeyDescription(
            path: "dataset.class_profile.counts", typeName: "list of integers", defaultNode: nil, presence: .absent,
            doc: "counts: images kept per class, by label.")
        static let largest = ConfigurationKeyDescription(
            path: "dataset.class_profile.largest", typeName: "integer", defaultNode: nil, range: .atLeast(1), presence: .absent,
            doc: "Images of the largest class in every split.")
        static let seed = ConfigurationKey<Int>(
            "dataset.class_profile.seed", default: 1, range: .integers(0, Int.max), presence: .absent, doc: "Seed of the order and the subsample.")
        static let keys = [kind, imbalance, order.description, shares, counts, largest, seed.description]
    }

    /// `prompts`: the templates of the text classifier.
    enum Prompts {
        static let templates = ConfigurationKeyDescription(
            path: "prompts.templates", typeName: "list of strings", defaultNode: nil, presence: .statedWithOwnValue,
            doc: "Templates with {} where the class name goes; several are averaged.")
        static let template = ConfigurationKeyDescription(
            path: "prompts.template", typeName: "string", defaultNode: nil, presence: .absent, doc: "A single template.")
        static let truncate = ConfigurationKey<Bool>(
            "prompts.truncate", default: false, doc: "Cut prompts longer than the model's context instead of refusing them.")
        static let keys = [templates, template, truncate.description]
    }

    /// The published label-free methods' sections (`inmap`, `transclip`, `zlap`) and the
    /// prior-aware transport default (`prior_transport`). Every default is the paper's.
    enum LabelFree {
        /// The keys InMaP's label and proxy fit shares with `prior_transport`, in `section`.
        struct TransportKeys: Sendable {
            let sinkhornTemperature: ConfigurationKey<Double>
            let sinkhornIterations: ConfigurationKey<Int>
            let oneHotThreshold: ConfigurationKey<Double>
            let proxyTemperature: ConfigurationKey<Double>
            let learningRate: ConfigurationKey<Double>
            let steps: ConfigurationKey<Int>
            let poolSample: ConfigurationKey<Int>

            /// - Parameter steps: the default of `steps` (InMaP: 2000 in one fit; `prior_transport`: 500 in each of 8 rounds).
            init(section: String, steps defaultSteps: Int = 2000) {
                sinkhornTemperature = ConfigurationKey("\(section).sinkhorn_temperature", default: 0.01, range: .openBelow(0, 10),
                                                       doc: "τ of the Sinkhorn pseudo-labels.")
                sinkhornIterations = ConfigurationKey("\(section).sinkhorn_iterations", default: 20, range: .integers(0, 10_000),
                                                      doc: "Sinkhorn iterations.")
                oneHotThreshold = ConfigurationKey("\(section).one_hot_threshold", default: 0.6, range: .closed(0, 1),
                                                   doc: "Label rows whose largest entry exceeds this become one-hot.")
                proxyTemperature = ConfigurationKey("\(section).proxy_temperature", default: 0.04, range: .openBelow(0, 10),
                                                    doc: "τ of the proxies' softmax.")
                learningRate = ConfigurationKey("\(section).learning_rate", default: 10, range: .openBelow(0, 1000),
                                                doc: "Initial step of the full-batch fit.")
                steps = ConfigurationKey("\(section).steps", default: defaultSteps, range: .integers(0, 1_000_000), doc: "Full-batch gradient steps (of each round).")
                poolSample = LabelFree.poolSample(section)
            }

            var keys: [ConfigurationKeyDescription] {
                [sinkhornTemperature.description, sinkhornIterations.description, oneHotThreshold.description,
                 proxyTemperature.description, learningRate.description, steps.description, poolSample.description]
            }
        }

        static func poolSample(_ section: String) -> ConfigurationKey<Int> {
            ConfigurationKey("\(section).pool_sample", default: 100_000, range: .integers(1, 100_000_000),
                             doc: "Fit on a seeded subsample of a larger pool.")
        }

        static func modes(_ section: String) -> ConfigurationKeyDescription {
            ConfigurationKeyDescription(path: "\(section).modes", typeName: "list of strings",
                                        defaultNode: .strings(["transductive", "inductive"]), doc: "One row per mode.")
        }

        static let inMaP = TransportKeys(section: "inmap")
        static let priorTransport = TransportKeys(section: "prior_transport", steps: 500)
        static let priorTransportRounds = ConfigurationKey<Int>(
            "prior_transport.rounds", default: 8, range: .integers(1, 100),
            doc: "Rounds of transport labels and proxy fits; each after the first transports from the previous proxies.")
        static let hedgeUniform = ConfigurationKey<Bool>(
            "prior_transport.hedge_uniform", default: false,
            doc: "Also fit the rounds to a uniform marginal and average the two proxy sets (the mean of their logits).")
        static let keepZeroShotAbove = ConfigurationKey<Double?>(
            "prior_transport.keep_zero_shot_above", default: 0.9, range: .closed(0, 1),
            doc: "Cohen's κ of zero-shot's and the first proxies' labels at or above which zero-shot is kept; null: always adapt.")
        static let priorIterations = ConfigurationKey<Int>(
            "prior_transport.prior_iterations", default: 10, range: .integers(0, 1000), doc: "EM iterations of the class-marginal mixture.")

        static let transCLIPModes = modes("transclip")
        static let transCLIPLambda = ConfigurationKey<Double>(
            "transclip.lambda", default: 1, range: .closed(0, 100), doc: "Weight λ of the KL term.")
        static let transCLIPNeighbours = ConfigurationKey<Int>(
            "transclip.neighbours", default: 3, range: .integers(1, 1000), doc: "k of the Laplacian term.")
        static let transCLIPOuterIterations = ConfigurationKey<Int>(
            "transclip.outer_iterations", default: 10, range: .integers(0, 1000), doc: "Mean and variance updates.")
        static let transCLIPAssignmentSteps = ConfigurationKey<Int>(
            "transclip.assignment_steps", default: 5, range: .integers(1, 1000), doc: "Assignment steps after each update.")
        static let transCLIPInitialImagesPerClass = ConfigurationKey<Int>(
            "transclip.initial_images_per_class", default: 8, range: .integers(1, 1_000_000), doc: "Images that start each class's mean.")
        static let transCLIPLogitScale = ConfigurationKey<Double?>(
            "transclip.logit_scale", default: nil, range: .openBelow(0, 1000), doc: "Zero-shot temperature; null: the checkpoint's.")
        static let transCLIPPoolSample = poolSample("transclip")

        static let zLaPModes = modes("zlap")
        static let zLaPNeighbours = ConfigurationKey<Int>(
            "zlap.neighbours", default: 5, range: .integers(1, 1000), doc: "Image and class neighbours of each image.")
        static let zLaPGamma = ConfigurationKey<Double>(
            "zlap.gamma", default: 5, range: .openBelow(0, 100), doc: "Power γ of the image-class similarities.")
        static let zLaPAlpha = ConfigurationKey<Double>(
            "zlap.alpha", default: 0.3, range: ConfigurationRange.open(0, 1).with(why: "the propagation converges only below 1"),
            doc: "Propagation weight α.")
        static let zLaPTolerance = ConfigurationKey<Double>(
            "zlap.tolerance", default: 1e-6, range: .openBelow(0, 1), doc: "Conjugate gradient: relative residual.")
        static let zLaPMaximumIterations = ConfigurationKey<Int>(
            "zlap.maximum_iterations", default: 50, range: .integers(1, 100_000), doc: "Conjugate gradient iterations.")
        static let zLaPPoolSample = poolSample("zlap")

        static var keys: [ConfigurationKeyDescription] {
            [priorIterations.description, priorTransportRounds.description, hedgeUniform.description, keepZeroShotAbove.description] + priorTransport.keys + inMaP.keys
                + [transCLIPModes, transCLIPLambda.description, transCLIPNeighbours.description, transCLIPOuterIterations.description,
                   transCLIPAssignmentSteps.description, transCLIPInitialImagesPerClass.description, transCLIPLogitScale.description,
                   transCLIPPoolSample.description]
                + [zLaPModes, zLaPNeighbours.description, zLaPGamma.description, zLaPAlpha.description, zLaPTolerance.description,
                   zLaPMaximumIterations.description, zLaPPoolSample.description]
        }
    }
}

extension PrototypeKind: ConfigurationChoice {}
extension JPEGDecoding: ConfigurationChoice {}
extension ImageFolderSource.Layout: ConfigurationChoice {}
extension ClassProfile.Order: ConfigurationChoice {}
