import Adaptation
import Compute
import Datasets
import FileIntegrity
import Foundation
import PrototypeTrainer

/// A complete experiment configuration, read from YAML.
///
/// A file may name a parent with `base: other.yaml` (relative to itself); the child's keys
/// override the parent's, sections merge key by key. Relative paths resolve against the
/// folder of the file that wrote them (`~` is the home folder, `/...` is absolute); paths left
/// at their defaults (`cache_dir`, `runs_dir`) resolve against the working directory.
/// Unknown keys, wrong types and missing required keys are errors naming the key path and
/// the file. See docs/configuration.md for every key.
public struct ExperimentConfiguration: Sendable, Equatable {
    public var model: Model
    public var dataset: Dataset
    public var prompts: Prompts
    public var selection = Selection()
    public var prototypes = Prototypes()
    public var adapter = Adapter()
    public var training = ConfigurationKeys.Training.defaults
    public var modelSelection = ModelSelection()
    public var selfTraining = SelfTraining()
    /// `inmap`, `transclip`, `zlap`: the published label-free methods, run as rows beside ours.
    public var inMaP = InMaPMethod.Settings()
    public var transCLIPModes = TransCLIPMethod.Mode.allCases
    public var transCLIP = TransCLIPMethod.Settings()
    public var zLaPModes = ZLaPMethod.Mode.allCases
    public var zLaP = ZLaPMethod.Settings()
    /// `prior_transport`: the prior-aware transport proxies.
    public var priorTransport = PriorTransportMethod.Settings()
    /// The methods a run evaluates, in table order.
    public var methods: [MethodName] = MethodName.allCases
    /// The method whose adapter is written and whose per-class gains the report ranks.
    public var primaryMethod: MethodName = .priorTransport
    public var baselines = Baselines()
    /// `auto`, `cpu`, `cpu-reference`, `opencl` or `opencl:N`.
    public var device = ConfigurationKeys.TopLevel.device.defaultValue
    /// Where extracted features are cached.
    public var cacheDirectory: URL
    /// Where run folders (resolved config, metrics) are written.
    public var runsDirectory: URL
    public var extraction = Extraction()
    /// The file this configuration was loaded from, if any.
    public var sourceFile: URL?

    /// A configuration with every optional section at its default.
    public init(model: Model, dataset: Dataset, prompts: Prompts) {
        self.model = model
        self.dataset = dataset
        self.prompts = prompts
        cacheDirectory = ConfigurationKeys.TopLevel.cacheDirectory.defaultValue.url
        runsDirectory = ConfigurationKeys.TopLevel.runsDirectory.defaultValue.url
    }

    /// Loads `file` and its `base:` chain.
    /// - Throws: `ExperimentsError` naming the file and key path of the first problem.
    public static func load(from file: URL) throws -> ExperimentConfiguration {
        let tree = try ConfigurationLoader.load(file: file)
        var configuration = try decode(tree, documentName: file.standardizedFileURL.path)
        configuration.sourceFile = file.standardizedFileURL
        return configuration
    }

    /// Reads a configuration from YAML text; `base:` and relative paths resolve against
    /// `baseDirectory`.
    /// - Throws: `ExperimentsError` naming `sourceName` and the key path of the first problem.
    public init(yaml: String, baseDirectory: URL, sourceName: String = "configuration.yaml") throws {
        let tree = try ConfigurationLoader.load(yaml: yaml, baseDirectory: baseDirectory, sourceName: sourceName)
        self = try Self.decode(tree, documentName: baseDirectory.appendingPathComponent(sourceName).path)
    }

    /// A copy with `--set key.path=value` overrides applied in order. Values are YAML
    /// (`8`, `0.5`, `true`, `[1, 2]`, `null` to reset to the default); relative paths resolve
    /// against the working directory.
    /// - Throws: `invalidOverride` for a malformed override, or the error of the resulting
    ///   configuration (unknown key, wrong type, ...) naming the override.
    public func applying(overrides: [String]) throws -> ExperimentConfiguration {
        guard !overrides.isEmpty else { return self }
        var tree = self.tree
        for text in overrides {
            let override = try ConfigurationOverride(parsing: text).renamingOlderKeys()
            tree = try tree.setting(override.value, at: override.path[...], override: text)
        }
        let name = (sourceFile?.path ?? "configuration") + " with --set overrides"
        var configuration = try Self.decode(tree, documentName: name)
        configuration.sourceFile = sourceFile
        return configuration
    }

    /// The whole configuration as YAML, every key present (defaults included), paths absolute.
    /// Loading it back gives an equal configuration.
    public func resolvedYAML() -> String {
        var text = "# Resolved UPAdapter configuration"
        if let sourceFile { text += " (from \(sourceFile.path))" }
        return text + "\n" + tree.yamlText()
    }

    /// Checks that the model folder and the dataset's root are folders, and that the files
    /// named by the dataset section are regular files: the path checks of the validation pass
    /// that `config check --paths` and `run` share (everything else is checked when the
    /// configuration is read), made before any model is loaded.
    /// - Throws: `ExperimentsError.pathNotFound` or `.invalidValue` (a file where a folder is
    ///   needed, a folder or FIFO where a file is) naming the key.
    public func checkPaths() throws {
        func require(_ url: URL?, _ keyPath: String, folder: Bool) throws {
            guard let url else { return }
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
                throw ExperimentsError.pathNotFound(keyPath: keyPath, path: url.path)
            }
            let file = sourceFile?.path ?? "configuration"
            if folder, !isFolder.boolValue {
                throw ExperimentsError.invalidValue(keyPath: keyPath, file: file, value: url.path, reason: "a folder is needed, and this is a file")
            }
            if !folder, let kind = RegularFile.kind(ofPath: url.path) {
                throw ExperimentsError.invalidValue(keyPath: keyPath, file: file, value: url.path, reason: "a regular file is needed, and this is a \(kind)")
            }
        }
        try require(model.path, "model.path", folder: true)
        try require(dataset.root ?? (dataset.kind == .idx ? IDXSource.defaultFashionMNISTFolder : nil), "dataset.root", folder: true)
        try require(dataset.classNamesFile, "dataset.class_names_file", folder: false)
        try require(dataset.idx.trainImages, "dataset.idx.train_images", folder: false)
        try require(dataset.idx.trainLabels, "dataset.idx.train_labels", folder: false)
        try require(dataset.idx.testImages, "dataset.idx.test_images", folder: false)
        try require(dataset.idx.testLabels, "dataset.idx.test_labels", folder: false)
    }

    // MARK: Decoding and encoding

    /// - Parameter context: collects the problems (and the keys asked for); a fresh one when nil.
    static func decode(
        _ tree: ConfigurationNode, documentName: String, context given: ConfigurationDecodingContext? = nil
    ) throws -> ExperimentConfiguration {
        let context = given ?? ConfigurationDecodingContext(documentName: documentName)
        let root = ConfigurationReader(node: tree, path: "", context: context)
        let model = Model(reading: root.section("model"))
        let dataset = Dataset(reading: root.section("dataset"))
        let prompts = Prompts(reading: root.section("prompts"))
        var configuration = ExperimentConfiguration(model: model, dataset: dataset, prompts: prompts)
        configuration.selection = Selection(reading: root.section("selection"))
        configuration.prototypes = Prototypes(reading: root.section("prototypes"))
        configuration.adapter = Adapter(reading: root.section("adapter"))
        configuration.training = readTraining(root.section("training"))
        configuration.modelSelection = ModelSelection(reading: root.section("model_selection"))
        configuration.selfTraining = SelfTraining(reading: root.section("self_training"))
        configuration.baselines = Baselines(reading: root.section("baselines"))
        configuration.inMaP = readInMaP(root.section("inmap"))
        (configuration.transCLIPModes, configuration.transCLIP) = readTransCLIP(root.section("transclip"))
        (configuration.zLaPModes, configuration.zLaP) = readZLaP(root.section("zlap"))
        configuration.priorTransport = readPriorTransport(root.section("prior_transport"))
        if let names = root.strings("methods") {
            configuration.methods = []
            for name in names {
                guard let method = MethodName(named: name) else {
                    root.invalid("methods", value: name, reason: "expected one of " + MethodName.allCases.map(\.rawValue).joined(separator: ", "))
                    continue
                }
                if configuration.methods.contains(method) {
                    root.invalid("methods", value: name, reason: "named twice")
                } else {
                    configuration.methods.append(method)
                }
            }
        }
        configuration.primaryMethod = root.string("primary_method").map { name in
            MethodName(named: name) ?? {
                root.invalid("primary_method", value: name, reason: "expected one of " + MethodName.allCases.map(\.rawValue).joined(separator: ", "))
                return automaticPrimaryMethod(for: configuration.methods)
            }()
        } ?? automaticPrimaryMethod(for: configuration.methods)
        if !configuration.methods.contains(configuration.primaryMethod) {
            root.invalid("primary_method", value: configuration.primaryMethod.rawValue, reason: "must be one of the run's methods")
        }
        configuration.device = root.value(ConfigurationKeys.TopLevel.device)
        if (try? DeviceSelection(parsing: configuration.device)) == nil {
            root.invalid("device", value: configuration.device, reason: "expected auto, cpu, cpu-reference, opencl or opencl:N")
        }
        configuration.cacheDirectory = root.value(ConfigurationKeys.TopLevel.cacheDirectory).url
        configuration.runsDirectory = root.value(ConfigurationKeys.TopLevel.runsDirectory).url
        configuration.extraction = Extraction(reading: root.section("extraction"))
        try context.finish()
        return configuration
    }

    /// The primary method when `primary_method` is unset (null): the label-free default when the
    /// run has it, else self-training, else the first adapting method listed.
    static func automaticPrimaryMethod(for methods: [MethodName]) -> MethodName {
        [MethodName.priorTransport, .selfTraining].first { methods.contains($0) }
            ?? methods.first { $0 != .zeroShot } ?? methods.first ?? .priorTransport
    }

    /// The configuration as a tree, in documentation order.
    private var tree: ConfigurationNode {
        .section([
            ("model", model.node),
            ("dataset", dataset.node),
            ("prompts", prompts.node),
            ("selection", selection.node),
            ("prototypes", prototypes.node),
            ("adapter", adapter.node),
            ("training", Self.trainingNode(training)),
            ("model_selection", modelSelection.node),
            ("self_training", selfTraining.node),
            ("prior_transport", Self.priorTransportNode(priorTransport)),
            ("inmap", Self.inMaPNode(inMaP)),
            ("transclip", Self.transCLIPNode(modes: transCLIPModes, transCLIP)),
            ("zlap", Self.zLaPNode(modes: zLaPModes, zLaP)),
            ("methods", .strings(methods.map(\.rawValue))),
            // Null when automatic, so that a later override of `methods` picks again.
            ("primary_method", primaryMethod == Self.automaticPrimaryMethod(for: methods) ? .null(origin: .resolved) : .string(primaryMethod.rawValue)),
            ("baselines", baselines.node),
            ConfigurationKeys.TopLevel.device.entry(device),
            ConfigurationKeys.TopLevel.cacheDirectory.entry(ConfigurationPath(url: cacheDirectory)),
            ConfigurationKeys.TopLevel.runsDirectory.entry(ConfigurationPath(url: runsDirectory)),
            ("extraction", extraction.node),
        ])
    }
}

/// The methods a configuration can ask for (`methods:`), by their YAML names.
public enum MethodName: String, Sendable, CaseIterable {
    /// Zero-shot CLIP.
    case zeroShot = "zero_shot"
    /// The paper's recipe: `selection` (K 16), prototypes trained once, α and β from `adapter`
    /// (formerly `paper`).
    case paperRecipe = "paper_recipe"
    /// One row per `model_selection.criteria`: K, α, β chosen by that criterion (formerly `selected`).
    case modelSelection = "model_selection"
    /// UP-Adapter with self-training (`self_training`): the default label-free variant.
    case selfTraining = "self_training"
    /// Training-free Tip-Adapter on the paper's pseudo-labeled selection.
    case tipAdapterPseudo = "tip_adapter_pseudo"
    /// Prior-aware transport proxies (`prior_transport`).
    case priorTransport = "prior_transport"
    /// InMaP (`inmap`), a published label-free method.
    case inMaP = "inmap"
    /// TransCLIP-ZS (`transclip`), one row per mode.
    case transCLIP = "transclip"
    /// ZLaP (`zlap`), one row per mode.
    case zLaP = "zlap"
    /// Supervised N-shot Tip-Adapter(-F) with true labels (`baselines`).
    case supervised
}

extension MethodName {
    /// The method `name` names: its configuration spelling, or an older one still accepted.
    public init?(named name: String) {
        self.init(rawValue: Self.aliases[name] ?? name)
    }

    /// Older method names, by the name they stand for now.
    public static let aliases = ["paper": MethodName.paperRecipe.rawValue, "selected": MethodName.modelSelection.rawValue]
}
