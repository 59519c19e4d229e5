import ArgumentParser
import CLIPEncoder
import Compute
import PseudoLabeling
import Experiments
import FeatureCache
import Foundation
import PrototypeTrainer
import Support

/// Options naming a configuration file plus overrides.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "Experiment configuration (YAML), e.g. Configs/oxford_pets.yaml.")
    var config: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a key, e.g. --set training.epochs=5 (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    func load() throws -> ExperimentConfiguration {
        try ExperimentConfiguration.load(from: URL(fileURLWithPath: (config as NSString).expandingTildeInPath)).applying(overrides: overrides)
    }

    /// The run's name: the file name without its extension.
    var name: String { URL(fileURLWithPath: config).deletingPathExtension().lastPathComponent }
}

func openTrainingBackend(_ deviceOptions: DeviceOptions, configured: String) throws -> any TrainingBackend {
    try trainingBackend(try deviceOptions.makeBackend(configured: configured, announceDeliberateKernels: true))
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the whole UP-Adapter pipeline for a configuration and write runs/<config>/<timestamp>/.",
        discussion: "Extracts (or reuses cached) features, pseudo-labels the unlabeled split, selects confident images, trains the prototypes, evaluates UP-Adapter and the baselines on the test split, and writes metrics.json, report.md, report.html, the resolved config and the adapter.")

    @OptionGroup var configurationOptions: ConfigurationOptions
    @OptionGroup var deviceOptions: DeviceOptions
    @Flag(help: "Print only the results table and the report path.") var quiet = false

    func run() throws {
        let configuration = try configurationOptions.load()
        try configuration.checkPaths()
        let backend = try openTrainingBackend(deviceOptions, configured: configuration.device)
        Pipeline.removeStaleStaging(runsDirectory: configuration.runsDirectory, name: configurationOptions.name)
        let pipeline = Pipeline(configuration: configuration, name: configurationOptions.name, backend: backend,
                                progress: ProgressReporter(quiet: quiet))
        let result = try pipeline.run()
        print(result.table)
        print("report: \(result.runDirectory.appendingPathComponent("report.html").path)")
    }
}

struct ExtractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Extract and cache the image features of a split (optionally one shard of it).",
        discussion: "With --shard i/n only the i-th of n contiguous slices is extracted (e.g. one per Slurm array task); `upadapter cache merge --config FILE` then joins the shards.")

    @OptionGroup var configurationOptions: ConfigurationOptions
    @OptionGroup var deviceOptions: DeviceOptions
    @Option(help: "Split to extract (default: the unlabeled and the test split).") var split: String?
    @Option(help: "Extract only shard i of n, written as i/n (0-based).") var shard: String?
    @Flag(help: "No progress output.") var quiet = false

    func validate() throws {
        if let shard, (try? FeatureShard(parsing: shard)) == nil {
            throw ValidationError("--shard must be i/n with 0 ≤ i < n ≤ \(FeatureShard.maximumCount), got '\(shard)'")
        }
    }

    func run() throws {
        let configuration = try configurationOptions.load()
        try configuration.checkPaths()
        let shardSpec = try shard.map { try FeatureShard(parsing: $0) }
        let backend = try deviceOptions.makeBackend(configured: configuration.device)
        let model = try CLIPModel(directory: configuration.model.path, backend: backend)
        let source = try configuration.dataset.makeSource()
        let progress = ProgressReporter(quiet: quiet)
        for name in split.map({ [$0] }) ?? [configuration.dataset.unlabeledSplit, configuration.dataset.testSplit] {
            var data = try source.split(name)
            if let transform = configuration.dataset.transform { data = data.withTransform(transform) }
            progress.begin("\(name) features", total: data.items.count)
            let set = try configuration.featureCache.extract(split: data, model: model, shard: shardSpec, progress: { done, _ in progress.update(done) })
            print("\(name): \(set.count) feature rows of width \(set.dimension)" + (shardSpec.map { " (shard \($0))" } ?? ""))
        }
    }
}

struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache", abstract: "Manage the feature cache.", subcommands: [Merge.self])

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Join complete sets of extraction shards into cached feature files.")

        @Option(help: "Cache directory (default: the config's cache_dir, or cache/).") var cacheDir: String?
        @Option(help: "A configuration whose cache_dir to use.") var config: String?

        func run() throws {
            let directory: URL
            if let cacheDir {
                directory = URL(fileURLWithPath: (cacheDir as NSString).expandingTildeInPath)
            } else if let config {
                directory = try ExperimentConfiguration.load(from: URL(fileURLWithPath: config)).cacheDirectory
            } else {
                directory = URL(fileURLWithPath: "cache")
            }
            let outcomes = try FeatureCache.merge(directory: directory)
            if outcomes.isEmpty { print("no shard sets in \(directory.path)") }
            for outcome in outcomes {
                print("\(outcome.dataset) \(outcome.split): \(outcome.shardCount) shards, \(outcome.count) rows: \(outcome.status) (\(outcome.folder.path))")
            }
        }
    }
}

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict", abstract: "Top-5 classes with probabilities for images, with a trained adapter.")

    @Option(help: "adapter.safetensors from a run directory.") var adapter: String
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var preprocessingOptions: PreprocessingOptions
    @Option(help: "Classes to show per image.") var top: Int = 5
    @Argument(help: "PNG or JPEG files.") var images: [String]

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image file") }
        try requireOption("--top", top, in: 1...100_000)
    }

    func run() throws {
        let contents = try AdapterFile.read(URL(fileURLWithPath: adapter))
        if !contents.checksumVerified {
            printError("note: \(TerminalText.escaped(adapter)) has no tensors_sha256 (written by an older version): its values are not verified; "
                       + "train it again to get a checked adapter")
        }
        let model = try modelOptions.load()
        if !contents.modelDigest.isEmpty, contents.modelDigest != model.digest {
            printError("warning: the adapter was trained on features of another model (digest \(contents.modelDigest), this model \(model.digest))")
        }
        let backend = try trainingBackend(model.backend)
        let features = try encodeImageFiles(
            images.map { URL(fileURLWithPath: $0) }, model: model, batchSize: 32, pipeline: preprocessingOptions.pipeline)
        let matrix = try HostMatrix(values: features, rows: images.count, columns: model.embeddingSize)
        let logits = try contents.classifier.logits(features: matrix, backend: backend)
        for (row, image) in images.enumerated() {
            let line = Array(logits.row(row))
            let maximum = line.max() ?? 0
            let exponentials = line.map { exp(Double($0 - maximum)) }
            let total = exponentials.reduce(0, +)
            print(TerminalText.escaped(image))
            for index in exponentials.indices.sorted(by: { exponentials[$0] > exponentials[$1] }).prefix(top) {
                // Names come from the file: escape sequences in them are shown, not obeyed.
                print("  " + pad(TerminalText.escaped(contents.classNames[index]), 24) + String(format: " %6.2f%%", 100 * exponentials[index] / total))
            }
        }
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Validate configurations.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a configuration and print the resolved one.")

        @Argument(help: "Configuration file.") var file: String
        @Option(name: .customLong("set"), help: "Override a key (repeatable).") var overrides: [String] = []
        @Flag(help: "Also check that the model and dataset paths exist.") var paths = false

        func run() throws {
            let configuration = try ExperimentConfiguration.load(from: URL(fileURLWithPath: file)).applying(overrides: overrides)
            if paths { try configuration.checkPaths() }
            print(configuration.resolvedYAML())
        }
    }
}
