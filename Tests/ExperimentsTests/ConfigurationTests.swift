import Adaptation
import CLIPEncoder
import Foundation
import TestSupport
import Testing

@testable import Datasets
@testable import Experiments

/// A minimal valid configuration (no base) used by several tests.
private let minimalYAML = """
model:
  path: models/clip
dataset:
  kind: folder
  name: pets
  root: data/pets
prompts:
  template: "a photo of a {}."
"""

private func configuration(_ yaml: String, in folder: URL = URL(fileURLWithPath: "/tmp/configs")) throws -> ExperimentConfiguration {
    try ExperimentConfiguration(yaml: yaml, baseDirectory: folder, sourceName: "test.yaml")
}

// MARK: - The shipped Configs/

@Suite("Configs/ folder")
struct ShippedConfigurationTests {
    /// Every YAML file under Configs/ (demo/ and dev/ included), base files and the sweep
    /// specifications of study/ excluded.
    static func configFiles() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: DatasetFixtures.configs.path)
        var files: [String] = []
        while let relative = enumerator?.nextObject() as? String {
            if relative.hasSuffix(".yaml"), !(relative as NSString).lastPathComponent.hasPrefix("base"), !relative.hasPrefix("study/") {
                files.append(relative)
            }
        }
        return files.sorted()
    }

    @Test("Every configuration in Configs/ loads and validates")
    func everyConfigLoads() throws {
        let files = Self.configFiles()
        #expect(files.count >= 15)
        for relative in files {
            let file = DatasetFixtures.configs.appendingPathComponent(relative)
            let loaded = try ExperimentConfiguration.load(from: file)
            #expect(loaded.sourceFile == file.standardizedFileURL)
            // The resolved form loads back to the same configuration.
            var reloaded = try configuration(loaded.resolvedYAML())
            reloaded.sourceFile = loaded.sourceFile
            #expect(reloaded == loaded, "\(relative) does not survive resolvedYAML()")
        }
    }

    @Test("base.yaml states the built-in defaults")
    func baseMatchesBuiltInDefaults() throws {
        let viaBase = try ExperimentConfiguration(
            yaml: "base: base.yaml\ndataset: {kind: folder, name: x, root: /data}\n",
            baseDirectory: DatasetFixtures.configs, sourceName: "child.yaml")
        let builtIn = try configuration(minimalYAML)
        #expect(viaBase.selection == builtIn.selection)
        #expect(viaBase.prototypes == builtIn.prototypes)
        #expect(viaBase.adapter == builtIn.adapter)
        #expect(viaBase.training == builtIn.training)
        #expect(viaBase.baselines == builtIn.baselines)
        #expect(viaBase.extraction == builtIn.extraction)
        #expect(viaBase.device == builtIn.device)
        #expect(viaBase.dataset.unlabeledSplit == builtIn.dataset.unlabeledSplit)
        #expect(viaBase.dataset.testSplit == builtIn.dataset.testSplit)
        #expect(viaBase.dataset.folder == builtIn.dataset.folder)
        #expect(viaBase.dataset.verifyFiles == builtIn.dataset.verifyFiles)
        #expect(viaBase.prompts.templates == ["a photo of a {}."])
        // cache_dir and runs_dir resolve against Configs/, so they land in the repository root.
        let repository = DatasetFixtures.configs.deletingLastPathComponent()
        #expect(viaBase.cacheDirectory.path == repository.appendingPathComponent("cache").standardizedFileURL.path)
        #expect(viaBase.runsDirectory.path == repository.appendingPathComponent("runs").standardizedFileURL.path)
        #expect(viaBase.model.path.path == (("~/models/clip-vit-base-patch32" as NSString).expandingTildeInPath))
    }

    /// Initial α per dataset and templates as REFERENCE.md lists them (Tip-Adapter-F, CoOp).
    static let protocolTable: [(file: String, name: String, alpha: Double, template: String?)] = [
        ("caltech101", "Caltech101", 3, "a photo of a {}."),
        ("oxford_pets", "OxfordPets", 1.17, "a photo of a {}, a type of pet."),
        ("stanford_cars", "StanfordCars", 3, "a photo of a {}."),
        ("oxford_flowers", "Flowers102", 10, "a photo of a {}, a type of flower."),
        ("food101", "Food101", 1.17, "a photo of {}, a type of food."),
        ("fgvc_aircraft", "FGVCAircraft", 5, "a photo of a {}, a type of aircraft."),
        ("sun397", "SUN397", 1.17, "a photo of a {}."),
        ("dtd", "DTD", 2, "{} texture."),
        ("eurosat", "EuroSAT", 2, "a centered satellite photo of {}."),
        ("ucf101", "UCF101", 3, "a photo of a person doing {}."),
        ("imagenet", "ImageNet", 1.17, nil),
        ("imagenet_v2", "ImageNetV2", 1.17, nil),
        ("imagenet_sketch", "ImageNetSketch", 1.17, nil),
        ("imagenet_a", "ImageNetA", 1.17, nil),
        ("imagenet_r", "ImageNetR", 1.17, nil),
    ]

    @Test("Dataset configurations carry the protocol's names, α, β, templates and epochs")
    func protocolValues() throws {
        let ensemble = ["itap of a {}.", "a bad photo of the {}.", "a origami {}.", "a photo of the large {}.",
                        "a {} in a video game.", "art of the {}.", "a photo of the small {}."]
        for entry in Self.protocolTable {
            let loaded = try ExperimentConfiguration.load(from: DatasetFixtures.configs.appendingPathComponent("\(entry.file).yaml"))
            #expect(loaded.dataset.name == entry.name)
            #expect(loaded.adapter.alpha == entry.alpha, "\(entry.file)")
            #expect(loaded.adapter.beta == 1)
            #expect(loaded.prompts.templates == (entry.template.map { [$0] } ?? ensemble), "\(entry.file)")
            #expect(loaded.training.epochs == (entry.name == "EuroSAT" ? 100 : 20), "\(entry.file)")
            #expect(loaded.dataset.root?.path == ("~/data" as NSString).expandingTildeInPath)
            // Every dataset configuration describes a reader.
            _ = try loaded.dataset.makeSource()
        }
    }
}

// MARK: - Parsing, inheritance, overrides

@Suite("Experiment configuration")
struct ConfigurationParsingTests {
    @Test("Defaults fill every optional key; relative paths resolve against the file's folder")
    func defaultsAndPaths() throws {
        let loaded = try configuration(minimalYAML)
        #expect(loaded.model.path.path == "/tmp/configs/models/clip")
        #expect(loaded.dataset.root?.path == "/tmp/configs/data/pets")
        #expect(loaded.dataset.kind == .folder)
        #expect(loaded.prompts.templates == ["a photo of a {}."])
        #expect(loaded.selection.topK == 16)
        #expect(loaded.selection.minConfidence == nil)
        #expect(loaded.prototypes.kind == .mean)
        #expect(loaded.prototypes.augmentViews == 0)
        #expect(loaded.methods == MethodName.allCases)
        #expect(loaded.primaryMethod == .priorTransport)
        #expect(loaded.inMaP == InMaPMethod.Settings() && loaded.zLaPModes == [.transductive, .inductive])
        #expect(loaded.selfTraining.rounds == 4 && loaded.selfTraining.rule == .poolShare(0.5))
        #expect(loaded.selfTraining.criterion == nil)
        #expect(loaded.modelSelection.criteria == LabelFreeCriterion.allCases)
        #expect(loaded.modelSelection.rules == [.topK(16), .topK(64), .topK(256), .topK(1024), .poolShare(0.25), .poolShare(0.5)])
        #expect(loaded.training.epochs == 20)
        #expect(loaded.training.batchSize == 256)
        #expect(loaded.training.learningRate == 0.001)
        #expect(loaded.training.weightDecay == 0.01)
        #expect(loaded.training.epsilon == 1e-4)
        #expect(loaded.training.seed == 1)
        #expect(loaded.baselines.supervisedShots == [1, 2, 4, 8, 16])
        #expect(loaded.baselines.supervisedFinetune)
        #expect(loaded.device == "auto")
        #expect(loaded.extraction.batchSize == 64)
        #expect(loaded.extraction.cropRounding == nil)
        #expect(loaded.extraction.preprocessing == nil)
        let workingDirectory = FileManager.default.currentDirectoryPath
        #expect(loaded.cacheDirectory.path == workingDirectory + "/cache")
        #expect(loaded.runsDirectory.path == workingDirectory + "/runs")
    }

    @Test("Absolute and home paths are kept")
    func absoluteAndHomePaths() throws {
        let loaded = try configuration(minimalYAML.replacingOccurrences(of: "models/clip", with: "~/clip")
            .replacingOccurrences(of: "data/pets", with: "/srv/pets"))
        #expect(loaded.model.path.path == ("~/clip" as NSString).expandingTildeInPath)
        #expect(loaded.dataset.root?.path == "/srv/pets")
    }

    @Test("A child overrides its base key by key; each file's relative paths resolve against its own folder")
    func inheritance() throws {
        let folder = try TemporaryFolder()
        try folder.write("shared/parent.yaml", """
            model: {path: models/clip}
            dataset: {kind: folder, name: parent, root: data, folder: {test_fraction: 0.3, seed: 5}}
            prompts: {templates: ["a {}.", "the {}."]}
            training: {epochs: 7, batch_size: 32}
            baselines: {supervised_shots: [1, 2]}
            """)
        let child = try folder.write("experiments/child.yaml", """
            base: ../shared/parent.yaml
            dataset:
              name: child
              folder: {seed: 9}
            prompts:
              template: "one {}."
            training:
              epochs: 3
            baselines:
              supervised_shots: [8]
            """)
        let loaded = try ExperimentConfiguration.load(from: child)
        #expect(loaded.dataset.name == "child")
        #expect(loaded.dataset.folder.seed == 9)
        #expect(loaded.dataset.folder.testFraction == 0.3)
        #expect(loaded.training.epochs == 3)
        #expect(loaded.training.batchSize == 32)
        #expect(loaded.baselines.supervisedShots == [8])
        #expect(loaded.prompts.templates == ["one {}."])
        #expect(loaded.model.path.path == folder.path("shared/models/clip"))
        #expect(loaded.dataset.root?.path == folder.path("shared/data"))
    }

    @Test("A null in a child resets the key to its built-in default")
    func nullResets() throws {
        let folder = try TemporaryFolder()
        try folder.write("base.yaml", minimalYAML + "\nselection: {top_k: 4}\nadapter: {alpha: 3}\n")
        let child = try folder.write("child.yaml", "base: base.yaml\nselection:\n  top_k: null\n")
        let loaded = try ExperimentConfiguration.load(from: child)
        #expect(loaded.selection.topK == 16)
        #expect(loaded.adapter.alpha == 3)
    }

    @Test("Bases that form a cycle, and missing bases, are errors")
    func baseErrors() throws {
        let folder = try TemporaryFolder()
        try folder.write("a.yaml", "base: b.yaml\n")
        try folder.write("b.yaml", "base: a.yaml\n")
        #expect(throws: ExperimentsError.baseCycle(chain: [folder.path("a.yaml"), folder.path("b.yaml"), folder.path("a.yaml")])) {
            try ExperimentConfiguration.load(from: folder.url.appendingPathComponent("a.yaml"))
        }
        try folder.write("c.yaml", "base: nowhere.yaml\n")
        #expect(throws: ExperimentsError.configurationFileNotFound(path: folder.path("nowhere.yaml"))) {
            try ExperimentConfiguration.load(from: folder.url.appendingPathComponent("c.yaml"))
        }
        #expect(throws: ExperimentsError.configurationFileNotFound(path: folder.path("absent.yaml"))) {
            try ExperimentConfiguration.load(from: folder.url.appendingPathComponent("absent.yaml"))
        }
    }

    @Test("Overrides take YAML-typed values, reset with null, and fall back to strings")
    func overrides() throws {
        let loaded = try configuration(minimalYAML)
        let changed = try loaded.applying(overrides: [
            "selection.top_k=8",
            "selection.min_confidence=0.25",
            "self_training.rounds=2",
            "model_selection.alpha_grid=[1, 2.5]",
            "model_selection.min_confidence_grid=[0.9]",
            "baselines.supervised_shots=[]",
            "prompts.template={} texture.",
            "dataset.transform={name: pixelate, parameters: {block: 8}}",
            "training.epsilon=1e-6",
            "device=opencl:1",
            "cache_dir=/var/cache/upadapter",
            "runs_dir=out/runs",
        ])
        // top_k and min_confidence exclude each other: the later override replaces the earlier.
        #expect(changed.selection.topK == 16)
        #expect(changed.selection.minConfidence == 0.25)
        #expect(try loaded.applying(overrides: ["selection.top_k=8"]).selection.topK == 8)
        #expect(changed.modelSelection.alphaGrid == [1, 2.5])
        #expect(changed.modelSelection.rules.last == .minimumConfidence(0.9))
        #expect(changed.selfTraining.rounds == 2)
        #expect(changed.baselines.supervisedShots == [])
        #expect(changed.prompts.templates == ["{} texture."])
        #expect(changed.dataset.transform == ImageTransformSpec(name: "pixelate", parameters: ["block": 8]))
        #expect(changed.training.epsilon == 1e-6)
        #expect(changed.device == "opencl:1")
        #expect(changed.cacheDirectory.path == "/var/cache/upadapter")
        #expect(changed.runsDirectory.path == FileManager.default.currentDirectoryPath + "/out/runs")
        // Paths from the file keep their resolution.
        #expect(changed.model.path == loaded.model.path)

        let reset = try changed.applying(overrides: ["selection.min_confidence=null", "dataset.transform="])
        #expect(reset.selection.minConfidence == nil)
        #expect(reset.dataset.transform == nil)
    }

    @Test("Malformed or invalid overrides are named")
    func overrideErrors() throws {
        let loaded = try configuration(minimalYAML)
        #expect(throws: ExperimentsError.invalidOverride(override: "selection.top_k", reason: "expected key.path=value")) {
            try loaded.applying(overrides: ["selection.top_k"])
        }
        #expect(throws: ExperimentsError.invalidOverride(override: "selection..top_k=3", reason: "key path 'selection..top_k' has an empty part")) {
            try loaded.applying(overrides: ["selection..top_k=3"])
        }
        #expect(throws: ExperimentsError.invalidOverride(override: "device.kind=cpu", reason: "the value above 'kind' is the string 'auto', not a section")) {
            try loaded.applying(overrides: ["device.kind=cpu"])
        }
        #expect(throws: ExperimentsError.unknownKey(keyPath: "selection.topk", file: "--set selection.topk=8", suggestion: "selection.top_k")) {
            try loaded.applying(overrides: ["selection.topk=8"])
        }
        #expect(throws: ExperimentsError.wrongType(
            keyPath: "training.epochs", file: "--set training.epochs=many", expected: "an integer", actual: "the string 'many'")) {
            try loaded.applying(overrides: ["training.epochs=many"])
        }
    }

    @Test("Unknown keys are named with the file, line and a suggestion")
    func unknownKeys() throws {
        let text = minimalYAML + "\nselection:\n  topk: 8\n"
        #expect(throws: ExperimentsError.unknownKey(keyPath: "selection.topk", file: "/tmp/configs/test.yaml:10", suggestion: "selection.top_k")) {
            try configuration(text)
        }
        do {
            _ = try configuration(text)
        } catch {
            #expect("\(error)" == "/tmp/configs/test.yaml:10: unknown key 'selection.topk' (did you mean 'selection.top_k'?)")
        }
        // A misspelled section, a key placed at the wrong level, and a key with no near match.
        #expect(throws: ExperimentsError.unknownKey(keyPath: "trianing", file: "/tmp/configs/test.yaml:9", suggestion: "training")) {
            try configuration(minimalYAML + "\ntrianing: {epochs: 3}\n")
        }
        #expect(throws: ExperimentsError.unknownKey(keyPath: "top_k", file: "/tmp/configs/test.yaml:9", suggestion: "selection.top_k")) {
            try configuration(minimalYAML + "\ntop_k: 3\n")
        }
        #expect(throws: ExperimentsError.unknownKey(keyPath: "model_selection.colour", file: "/tmp/configs/test.yaml:9", suggestion: nil)) {
            try configuration(minimalYAML + "\nmodel_selection: {colour: blue}\n")
        }
    }

    @Test("Unknown keys are reported before other problems")
    func unknownKeyFirst() throws {
        let text = minimalYAML.replacingOccurrences(of: "model:\n  path: models/clip", with: "modle:\n  path: models/clip")
        #expect(throws: ExperimentsError.unknownKey(keyPath: "modle", file: "/tmp/configs/test.yaml:1", suggestion: "model")) {
            try configuration(text)
        }
    }

    @Test("extraction.crop_rounding selects transformers' crop, reaches the cache and the resolved file")
    func cropRounding() throws {
        let loaded = try configuration(minimalYAML + "\nextraction: {crop_rounding: transformers}\n")
        #expect(loaded.extraction.cropRounding == .transformers)
        #expect(loaded.featureCache.cropRounding == .transformers)
        #expect(loaded.resolvedYAML().contains("crop_rounding: transformers"))
        #expect(throws: ExperimentsError.invalidValue(
            keyPath: "extraction.crop_rounding", file: "/tmp/configs/test.yaml:9", value: "floor",
            reason: "expected one of pipeline, openai, transformers, transformers-torchvision")) {
            try configuration(minimalYAML + "\nextraction: {crop_rounding: floor}\n")
        }
        let defaults = try configuration(minimalYAML)
        #expect(defaults.resolvedYAML().contains("crop_rounding: pipeline"))
        #expect(try configuration(minimalYAML + "\nextraction: {crop_rounding: pipeline}\n").extraction.cropRounding == nil)
    }

    @Test("extraction.preprocessing names a pipeline, reaches the cache key and the resolved file; unknown names list the accepted ones")
    func preprocessing() throws {
        let defaults = try configuration(minimalYAML)
        #expect(defaults.extraction.preprocessing == nil && defaults.featureCache.pipeline == nil)
        #expect(defaults.resolvedYAML().contains("preprocessing: auto"))
        for pipeline in PreprocessingPipeline.allCases {
            let loaded = try configuration(minimalYAML + "\nextraction: {preprocessing: \(pipeline.rawValue)}\n")
            #expect(loaded.extraction.preprocessing == pipeline)
            #expect(loaded.featureCache.pipeline == pipeline)
            #expect(loaded.resolvedYAML().contains("preprocessing: \(pipeline.rawValue)"))
        }
        #expect(try configuration(minimalYAML + "\nextraction: {preprocessing: auto}\n").extraction.preprocessing == nil)
        #expect(throws: ExperimentsError.invalidValue(
            keyPath: "extraction.preprocessing", file: "/tmp/configs/test.yaml:9", value: "pillow",
            reason: "expected one of auto, openai, transformers-pil, transformers")) {
            try configuration(minimalYAML + "\nextraction: {preprocessing: pillow}\n")
        }
    }

    @Test("extraction.jpeg_decoding selects draft decoding, reaches the cache key and the resolved file")
    func jpegDecoding() throws {
        let defaults = try configuration(minimalYAML)
        #expect(defaults.extraction.jpegDecoding == .full)
        #expect(defaults.resolvedYAML().contains("jpeg_decoding: full"))
        let loaded = try configuration(minimalYAML + "\nextraction: {jpeg_decoding: draft}\n")
        #expect(loaded.extraction.jpegDecoding == .draft)
        #expect(loaded.featureCache.jpegDecoding == .draft)
        #expect(loaded.resolvedYAML().contains("jpeg_decoding: draft"))
        #expect(throws: ExperimentsError.invalidValue(
            keyPath: "extraction.jpeg_decoding", file: "/tmp/configs/test.yaml:9", value: "fast",
            reason: "expected one of full, draft")) {
            try configuration(minimalYAML + "\nextraction: {jpeg_decoding: fast}\n")
        }
    }

    @Test("Wrong types, missing keys and invalid values name the key and file")
    func typeAndValueErrors() throws {
        #expect(throws: ExperimentsError.wrongType(
            keyPath: "training.epochs", file: "/tmp/configs/test.yaml:9", expected: "an integer", actual: "the string 'twenty'")) {
            try configuration(minimalYAML + "\ntraining: {epochs: twenty}\n")
        }
        #expect(throws: ExperimentsError.wrongType(
            keyPath: "baselines.supervised_shots", file: "/tmp/configs/test.yaml:9", expected: "a list of integers", actual: "the integer 8")) {
            try configuration(minimalYAML + "\nbaselines: {supervised_shots: 8}\n")
        }
        #expect(throws: ExperimentsError.wrongType(
            keyPath: "adapter", file: "/tmp/configs/test.yaml:9", expected: "a section (a mapping of keys to values)", actual: "the number 1.5")) {
            try configuration(minimalYAML + "\nadapter: 1.5\n")
        }
        #expect(throws: ExperimentsError.missingKey(keyPath: "model.path", file: "/tmp/configs/test.yaml")) {
            try configuration(minimalYAML.replacingOccurrences(of: "model:\n  path: models/clip\n", with: ""))
        }
        #expect(throws: ExperimentsError.missingKey(keyPath: "prompts.templates", file: "/tmp/configs/test.yaml")) {
            try configuration(minimalYAML.replacingOccurrences(of: "prompts:\n  template: \"a photo of a {}.\"", with: ""))
        }
        #expect(throws: ExperimentsError.missingKey(keyPath: "dataset.root", file: "/tmp/configs/test.yaml")) {
            try configuration(minimalYAML.replacingOccurrences(of: "  root: data/pets\n", with: ""))
        }
        #expect(throws: ExperimentsError.invalidValue(
            keyPath: "dataset.kind", file: "/tmp/configs/test.yaml:4", value: "zip",
            reason: "expected one of coop, imagenet, imagenet-variant, folder, idx")) {
            try configuration(minimalYAML.replacingOccurrences(of: "kind: folder", with: "kind: zip"))
        }
        #expect(throws: ExperimentsError.invalidValue(
            keyPath: "dataset.name", file: "/tmp/configs/test.yaml:5", value: "pets",
            reason: "kind coop expects one of Caltech101, OxfordPets, StanfordCars, Flowers102, Food101, FGVCAircraft, SUN397, DTD, EuroSAT, UCF101")) {
            try configuration(minimalYAML.replacingOccurrences(of: "kind: folder", with: "kind: coop"))
        }
        #expect(throws: ExperimentsError.invalidValue(
            keyPath: "device", file: "/tmp/configs/test.yaml:9", value: "gpu",
            reason: "expected auto, cpu, cpu-reference, opencl or opencl:N")) {
            try configuration(minimalYAML + "\ndevice: gpu\n")
        }
        #expect(throws: ExperimentsError.invalidValue(
            keyPath: "prompts.template", file: "/tmp/configs/test.yaml:8", value: "a photo",
            reason: "a template must contain '{}' exactly once (where the class name goes)")) {
            try configuration(minimalYAML.replacingOccurrences(of: "a photo of a {}.", with: "a photo"))
        }
        #expect(throws: ExperimentsError.invalidValue(
            keyPath: "selection.top_k", file: "/tmp/configs/test.yaml:9", value: "0", reason: "must be at least 1")) {
            try configuration(minimalYAML + "\nselection: {top_k: 0}\n")
        }
        #expect(throws: ExperimentsError.invalidValue(
            keyPath: "model_selection.held_out_fraction", file: "/tmp/configs/test.yaml:9", value: "1",
            reason: "must be in (0, 1)")) {
            try configuration(minimalYAML + "\nmodel_selection: {held_out_fraction: 1}\n")
        }
        #expect(throws: ExperimentsError.invalidValue(
            keyPath: "methods", file: "/tmp/configs/test.yaml:9", value: "magic",
            reason: "expected one of " + MethodName.allCases.map(\.rawValue).joined(separator: ", "))) {
            try configuration(minimalYAML + "\nmethods: [zero_shot, magic]\n")
        }
        #expect(throws: ExperimentsError.invalidValue(
            keyPath: "self_training.criterion", file: "/tmp/configs/test.yaml:9", value: "held_out_pseudo_labels",
            reason: "expected fixed or a pool criterion: information_maximization, soft_neighbourhood_density, view_agreement")) {
            try configuration(minimalYAML + "\nself_training: {criterion: held_out_pseudo_labels}\n")
        }
        #expect(throws: ExperimentsError.invalidValue(
            keyPath: "prompts.templates", file: "/tmp/configs/test.yaml:9", value: "a list",
            reason: "'template' and 'templates' exclude each other; give only one of them")) {
            try configuration(minimalYAML.replacingOccurrences(of: "\"a photo of a {}.\"", with: "\"a {}\"\n  templates: [\"b {}\"]"))
        }
    }

    @Test("Invalid YAML and duplicate keys are named")
    func invalidYAML() throws {
        #expect(performing: { try configuration("model: [unclosed\n") }, throws: { error in
            guard case ExperimentsError.invalidYAML(let file, _) = error else { return false }
            return file == "/tmp/configs/test.yaml"
        })
        #expect(performing: { try configuration("model: {path: a}\nmodel: {path: b}\n") }, throws: { error in
            guard case ExperimentsError.invalidYAML(let file, let reason) = error else { return false }
            return file == "/tmp/configs/test.yaml" && reason.contains("'model'")
        })
        #expect(throws: ExperimentsError.invalidYAML(file: "/tmp/configs/test.yaml", reason: "the top level must be a mapping of keys to values")) {
            try configuration("- a\n- b\n")
        }
    }

    @Test("resolvedYAML prints every key and loads back to the same configuration")
    func resolvedRoundTrip() throws {
        var loaded = try configuration(minimalYAML.replacingOccurrences(of: "  root: data/pets\n", with: """
              root: data/pets
              class_names: ["tabby cat", "no", "1", "yes: really"]
              transform: {name: "blur_noise", parameters: {sigma: 1.5}}

            """) + "\nselection: {min_confidence: 0.3}\n")
        loaded.sourceFile = nil
        let text = loaded.resolvedYAML()
        for key in ["model:", "path:", "dataset:", "kind: folder", "unlabeled_split: train", "test_split: test",
                    "class_names:", "verify_files: true", "folder:", "layout: auto", "idx:", "train_images: null",
                    "transform:", "prompts:", "templates:", "truncate: false", "selection:", "top_k: null", "min_confidence: 0.3",
                    "prototypes:", "kind: mean", "augment_views: 0", "adapter:", "alpha: 1.0", "beta: 1.0", "model_selection:",
                    "held_out_fraction: 0.25", "alpha_grid:", "beta_grid:", "top_k_grid: [16, 64, 256, 1024]", "training:", "epochs: 20",
                    "batch_size: 256", "learning_rate: 0.001", "weight_decay: 0.01", "epsilon: 0.0001", "seed: 1",
                    "self_training:", "rounds: 4", "pool_share: 0.5", "criterion: fixed",
                    "methods:", "primary_method: null",
                    "prior_transport:", "prior_iterations: 10", "hedge_uniform: false", "keep_zero_shot_above: 0.9", "steps: 500", "inmap:", "sinkhorn_temperature: 0.01", "proxy_temperature: 0.04", "steps: 2000",
                    "transclip:", "modes: [transductive, inductive]", "lambda: 1.0", "zlap:", "gamma: 5.0", "alpha: 0.3",
                    "baselines:", "supervised_shots: [1, 2, 4, 8, 16]",
                    "supervised_finetune: true", "device: auto", "cache_dir:", "runs_dir:", "extraction:", "batch_size: 64"] {
            #expect(text.contains(key), "resolved YAML lacks '\(key)'")
        }
        for method in MethodName.allCases { #expect(text.contains(method.rawValue), "resolved YAML lacks method \(method.rawValue)") }
        let reloaded = try configuration(text, in: URL(fileURLWithPath: "/elsewhere"))
        #expect(reloaded == loaded)
        #expect(reloaded.dataset.classNames == ["tabby cat", "no", "1", "yes: really"])
    }

    @Test("checkPaths names a missing model folder")
    func checkPaths() throws {
        let loaded = try configuration(minimalYAML)
        #expect(throws: ExperimentsError.pathNotFound(keyPath: "model.path", path: "/tmp/configs/models/clip")) {
            try loaded.checkPaths()
        }
    }

    @Test("Edit distance and key suggestions")
    func suggestions() {
        #expect(editDistance("topk", "top_k") == 1)
        #expect(editDistance("modle", "model") == 1)
        #expect(editDistance("", "abc") == 3)
        #expect(suggestKey(for: "TopK", sameSection: ["top_k", "min_confidence"]) == "top_k")
        #expect(suggestKey(for: "learning_rat", sameSection: ["learning_rate", "weight_decay"]) == "learning_rate")
        #expect(suggestKey(for: "colour", sameSection: ["enabled", "alpha_grid"]) == nil)
    }
}

// MARK: - From configuration to dataset

@Suite("Dataset section to reader")
struct DatasetConfigurationTests {
    @Test("A coop section reads the fixture's Oxford Pets with renamed classes and a transform")
    func coopFromConfiguration() throws {
        let loaded = try configuration("""
            model: {path: m}
            dataset:
              kind: coop
              name: oxford_pets
              root: \(DatasetFixtures.root.path)
              class_names: [cat one, dog two, dog three]
              transform: {name: pixelate, parameters: {block: 8}}
            prompts: {template: "a photo of a {}, a type of pet."}
            """)
        let split = try loaded.dataset.makeSource().split(loaded.dataset.testSplit)
        try DatasetFixtures.expectMatches(
            DatasetSplit(datasetName: split.datasetName, name: split.name,
                         classNames: ["abyssinian", "american_bulldog", "beagle"], items: split.items),
            dataset: "OxfordPets", splitName: "test")
        #expect(split.classNames == ["cat one", "dog two", "dog three"])
        #expect(split.items.allSatisfy { $0.transform == ImageTransformSpec(name: "pixelate", parameters: ["block": 8]) })
    }

    @Test("An idx section reads configured files with a class-names file")
    func idxFromConfiguration() throws {
        let folder = try TemporaryFolder()
        let expected = try #require(try DatasetFixtures.expected()["idx"] as? [String: Any])
        let names = try #require(expected["class_names"] as? [String])
        try folder.write("names.txt", names.joined(separator: "\n") + "\n")
        let idx = DatasetFixtures.root.appendingPathComponent("idx_raw").path
        let loaded = try configuration("""
            model: {path: m}
            dataset:
              kind: idx
              name: tiny-digits
              class_names_file: names.txt
              idx:
                test_images: \(idx)/t10k-images-idx3-ubyte
                test_labels: \(idx)/t10k-labels-idx1-ubyte
            prompts: {template: "a photo of the number {}."}
            """, in: folder.url)
        let split = try loaded.dataset.makeSource().split("test")
        #expect(split.classNames == names)
        #expect(split.labels == (expected["test"] as? [String: Any])?["labels"] as? [Int])
    }

    @Test("Fashion-MNIST needs no class names and defaults to the Debian folder")
    func fashionMNISTDefaults() throws {
        let loaded = try configuration("""
            model: {path: m}
            dataset: {kind: idx, name: fashion-mnist}
            prompts: {template: "a photo of a {}."}
            """)
        let files = loaded.dataset.idxSplitFiles()
        #expect(files["test"]?.images.path == "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte" + (
            FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") ? ".gz" : ""))
        let source = try loaded.dataset.makeSource()
        #expect(source.name == "fashion-mnist")
        #expect(throws: ExperimentsError.invalidValue(
            keyPath: "dataset.name", file: "/tmp/configs/test.yaml:2", value: "emnist",
            reason: "an idx dataset other than fashion-mnist or mnist needs class_names or class_names_file")) {
            try configuration("model: {path: m}\ndataset: {kind: idx, name: emnist}\nprompts: {template: \"{}\"}\n")
        }
    }
}

