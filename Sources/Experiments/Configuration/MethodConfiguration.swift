import Foundation

extension ExperimentConfiguration {
    /// `prompts`: the templates of the text classifier; `{}` stands for the class name.
    public struct Prompts: Sendable, Equatable {
        /// Averaged over when more than one (an ensemble).
        public var templates: [String]

        public init(templates: [String]) {
            self.templates = templates
        }

        init(reading reader: ConfigurationReader) {
            let single = reader.string("template")
            let list = reader.strings("templates")
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

        var node: ConfigurationNode { .section([("templates", .strings(templates))]) }
    }

    /// `selection`: which pseudo-labeled images become prototypes.
    public struct Selection: Sendable, Equatable {
        /// The most confident images kept per class.
        public var topK: Int = 16
        /// Images whose top softmax probability is below this are never selected.
        public var minConfidence: Double?

        public init() {}

        init(reading reader: ConfigurationReader) {
            topK = reader.int("top_k", default: 16, minimum: 1, maximum: 1_000_000)
            minConfidence = reader.double("min_confidence")
            if let minConfidence, !(0..<1).contains(minConfidence) {
                reader.invalid("min_confidence", value: formatNumber(minConfidence), reason: "must be in [0, 1) (no softmax probability reaches 1)")
            }
        }

        var node: ConfigurationNode { .section([("top_k", .int(topK)), ("min_confidence", .double(minConfidence))]) }
    }

    /// `prototypes`: how the selected features become the adapter's keys.
    public struct Prototypes: Sendable, Equatable {
        public enum Kind: String, Sendable, CaseIterable {
            /// One normalised mean feature per class.
            case mean
            /// Every selected feature is a key with its one-hot pseudo-label (Tip-Adapter style).
            case cache
        }

        public var kind: Kind = .mean
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
        /// `adapter.search`: a label-free search of α and β on a held-out part of the selected
        /// pseudo-labeled images.
        public struct Search: Sendable, Equatable {
            public var enabled = false
            /// Fraction of each class's selected images held out to score the grid.
            public var holdoutFraction = 0.25
            public var alphaGrid: [Double] = [0.5, 1, 1.17, 2, 3, 5, 10]
            public var betaGrid: [Double] = [0.5, 1, 2, 3, 5, 7]

            public init() {}
        }

        /// Weight of the prototype logits (Tip-Adapter's α).
        public var alpha: Double = 1
        /// Sharpness of the affinity (Tip-Adapter's β).
        public var beta: Double = 1
        /// Scale of the zero-shot logits `s · F · Wᵀ`; `nil` uses the checkpoint's learned
        /// `exp(logit_scale)` (100 for OpenAI's CLIP), or 100 when the checkpoint has none.
        public var logitScale: Double?
        public var search = Search()

        public init() {}

        init(reading reader: ConfigurationReader) {
            alpha = reader.double("alpha", default: 1)
            beta = reader.double("beta", default: 1)
            logitScale = reader.double("logit_scale")
            reader.require("logit_scale", logitScale, in: 0...1000, open: true)
            reader.require("alpha", alpha, in: 0...1000)
            reader.require("beta", beta, in: 0...1000, open: true)
            let searchReader = reader.section("search")
            search.enabled = searchReader.bool("enabled", default: false)
            search.holdoutFraction = searchReader.double("holdout_fraction", default: 0.25)
            search.alphaGrid = searchReader.doubles("alpha_grid") ?? Search().alphaGrid
            search.betaGrid = searchReader.doubles("beta_grid") ?? Search().betaGrid
            if !(search.holdoutFraction > 0 && search.holdoutFraction < 1) {
                searchReader.invalid("holdout_fraction", value: formatNumber(search.holdoutFraction), reason: "must be in (0, 1)")
            }
            for (key, grid) in [("alpha_grid", search.alphaGrid), ("beta_grid", search.betaGrid)] where grid.isEmpty {
                searchReader.invalid(key, value: "[]", reason: "must hold at least one value")
            }
            for alpha in search.alphaGrid { searchReader.require("alpha_grid", alpha, in: 0...1000) }
            for beta in search.betaGrid { searchReader.require("beta_grid", beta, in: 0...1000, open: true) }
        }

        var node: ConfigurationNode {
            .section([
                ("alpha", .double(alpha)),
                ("beta", .double(beta)),
                ("logit_scale", .double(logitScale)),
                ("search", .section([
                    ("enabled", .bool(search.enabled)),
                    ("holdout_fraction", .double(search.holdoutFraction)),
                    ("alpha_grid", .doubles(search.alphaGrid)),
                    ("beta_grid", .doubles(search.betaGrid)),
                ])),
            ])
        }
    }

    /// `training`: AdamW with cosine decay on the pseudo-labeled selection.
    public struct Training: Sendable, Equatable {
        public var epochs = 20
        public var batchSize = 256
        public var learningRate = 0.001
        public var weightDecay = 0.01
        /// AdamW's ε.
        public var eps = 1e-4
        public var seed = 1

        public init() {}

        init(reading reader: ConfigurationReader) {
            epochs = reader.int("epochs", default: 20, minimum: 1, maximum: 100_000)
            batchSize = reader.int("batch_size", default: 256, minimum: 1, maximum: 1 << 20)
            learningRate = reader.double("learning_rate", default: 0.001)
            weightDecay = reader.double("weight_decay", default: 0.01)
            eps = reader.double("eps", default: 1e-4)
            seed = reader.int("seed", default: 1, minimum: 0)
            reader.require("learning_rate", learningRate, in: 0...10, open: true)
            reader.require("weight_decay", weightDecay, in: 0...10)
            reader.require("eps", eps, in: 0...1, open: true)
        }

        var node: ConfigurationNode {
            .section([
                ("epochs", .int(epochs)),
                ("batch_size", .int(batchSize)),
                ("learning_rate", .double(learningRate)),
                ("weight_decay", .double(weightDecay)),
                ("eps", .double(eps)),
                ("seed", .int(seed)),
            ])
        }
    }

    /// `baselines`: the comparisons run on the same cached features.
    public struct Baselines: Sendable, Equatable {
        /// Zero-shot CLIP.
        public var zeroShot = true
        /// Training-free Tip-Adapter on the pseudo-labeled selection.
        public var tipAdapterPseudo = true
        /// Shot counts of supervised Tip-Adapter runs with true labels (empty: none).
        public var supervisedShots = [1, 2, 4, 8, 16]
        /// Also fine-tune the supervised caches (Tip-Adapter-F).
        public var supervisedFinetune = true

        public init() {}

        init(reading reader: ConfigurationReader) {
            zeroShot = reader.bool("zero_shot", default: true)
            tipAdapterPseudo = reader.bool("tip_adapter_pseudo", default: true)
            supervisedShots = reader.ints("supervised_shots") ?? [1, 2, 4, 8, 16]
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
            .section([
                ("zero_shot", .bool(zeroShot)),
                ("tip_adapter_pseudo", .bool(tipAdapterPseudo)),
                ("supervised_shots", .ints(supervisedShots)),
                ("supervised_finetune", .bool(supervisedFinetune)),
            ])
        }
    }

    /// `extraction`: feature extraction.
    public struct Extraction: Sendable, Equatable {
        /// Images encoded per batch.
        public var batchSize = 64
        /// Images per checkpointed chunk of an extraction: an interrupted run resumes from the
        /// last complete chunk.
        public var chunkSize = 1024

        public init() {}

        init(reading reader: ConfigurationReader) {
            batchSize = reader.int("batch_size", default: 64, minimum: 1, maximum: 4096)
            chunkSize = reader.int("chunk_size", default: 1024, minimum: 1, maximum: 1 << 20)
        }

        var node: ConfigurationNode { .section([("batch_size", .int(batchSize)), ("chunk_size", .int(chunkSize))]) }
    }
}
