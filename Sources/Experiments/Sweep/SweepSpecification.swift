import Datasets
import FileIntegrity
import Foundation
import Support

/// A study: configurations × method variants × seeds, each cell one `upadapter run`, read from
/// YAML:
///
/// ```yaml
/// name: method-study
/// configs: [../demo/solarize.yaml, ../dev/cutout.yaml]   # relative to this file
/// seeds: [1, 2, 3]
/// variants:                                             # name: --set overrides
///   default: []
///   fixed-head: ["self_training.criterion=fixed"]
/// output: ../../sweeps/method-study                     # relative to this file
/// ```
///
/// Cells are numbered configs (outer), then variants, then seeds (inner), from 0.
public struct SweepSpecification: Sendable, Equatable {
    /// One method variant: a name and the overrides that make it.
    public struct Variant: Sendable, Equatable {
        public var name: String
        public var overrides: [String]
    }

    /// One run of the study.
    public struct Cell: Sendable, Equatable {
        public var index: Int
        public var configuration: URL
        public var variant: Variant
        public var seed: Int

        /// `<config>__<variant>__seed<k>`: the cell's folder under `output/cells/`.
        public var name: String {
            "\(configuration.deletingPathExtension().lastPathComponent)__\(variant.name)__seed\(seed)"
        }
    }

    public var name: String
    public var configurations: [URL]
    public var seeds: [Int]
    public var variants: [Variant]
    /// Where cell run folders and the aggregated tables go.
    public var output: URL
    /// The file it was read from.
    public var sourceFile: URL

    /// Reads a specification file.
    /// - Throws: `ExperimentsError` naming the file and the key at fault.
    public static func load(from file: URL) throws -> SweepSpecification {
        let file = file.standardizedFileURL
        guard FileManager.default.fileExists(atPath: file.path) else { throw ExperimentsError.configurationFileNotFound(path: file.path) }
        try RegularFile.require(file)
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw ExperimentsError.unreadable(path: file.path, reason: error.localizedDescription)
        }
        let node = try ConfigurationNode.parse(yaml: text, file: file, sourceName: file.path)
        let context = ConfigurationDecodingContext(documentName: file.path)
        let root = ConfigurationReader(node: node, path: "", context: context)
        let name = root.string("name", default: file.deletingPathExtension().lastPathComponent)
        if let problem = Self.pathComponentProblem(name) {
            root.invalid("name", value: TerminalText.escaped(name), reason: "the sweep's name becomes a folder under sweeps/: \(problem)")
        }
        let configs = root.strings("configs") ?? []
        if configs.isEmpty { root.missing("configs") }
        let seeds = root.ints("seeds") ?? [1]
        if seeds.isEmpty || seeds.contains(where: { $0 < 0 }) { root.invalid("seeds", value: "\(seeds)", reason: "give at least one seed, none negative") }
        var variants = [Variant]()
        let variantsReader = root.section("variants")
        for entry in variantsReader.entries {
            let overrides = variantsReader.strings(entry.key) ?? []
            if let problem = Self.pathComponentProblem(entry.key) ?? (entry.key.contains("__") ? "it contains '__', the separator of cell names" : nil) {
                variantsReader.invalid(entry.key, value: TerminalText.escaped(entry.key), reason: "a variant name becomes part of a folder name: \(problem)")
            }
            variants.append(Variant(name: entry.key, overrides: overrides))
        }
        if variants.isEmpty { variants = [Variant(name: "default", overrides: [])] }
        let directory = file.deletingLastPathComponent()
        let output = root.path("output") ?? directory.appendingPathComponent("sweeps").appendingPathComponent(name)
        try context.finish()
        let configurations = configs.map { resolvePath($0, relativeTo: directory) }
        for (configuration, text) in zip(configurations, configs) where !FileManager.default.fileExists(atPath: configuration.path) {
            throw ExperimentsError.pathNotFound(keyPath: "configs (\(text))", path: configuration.path)
        }
        let stems = configurations.map { $0.deletingPathExtension().lastPathComponent }
        if let duplicate = stems.first(where: { stem in stems.filter { $0 == stem }.count > 1 }) {
            throw ExperimentsError.invalidValue(keyPath: "configs", file: file.path, value: duplicate, reason: "two configurations share this file name")
        }
        return SweepSpecification(name: name, configurations: configurations, seeds: seeds, variants: variants, output: output, sourceFile: file)
    }

    /// Why `text` cannot be one path component (a folder name inside the sweep's or runs'
    /// folder), or nil when it can: it must be non-empty, not `.` or `..`, at most 200 bytes,
    /// without `/`, `\\` or control characters.
    static func pathComponentProblem(_ text: String) -> String? {
        if text.isEmpty { return "it is empty" }
        if text == "." || text == ".." { return "'\(text)' names a folder above or the same folder" }
        if text.utf8.count > 200 { return "it is longer than 200 bytes" }
        if text.contains("/") || text.contains("\\") { return "it contains a path separator ('/' or '\\')" }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "it contains a control character" }
        return nil
    }

    /// Every cell, numbered.
    public var cells: [Cell] {
        var cells = [Cell]()
        for configuration in configurations {
            for variant in variants {
                for seed in seeds { cells.append(Cell(index: cells.count, configuration: configuration, variant: variant, seed: seed)) }
            }
        }
        return cells
    }

    /// `output/cells`.
    public var cellsDirectory: URL { output.appendingPathComponent("cells") }
}
