import Adaptation
import Datasets
import Foundation
import PrototypeTrainer
import Testing

@testable import Experiments

/// `ConfigurationKeys` is the one table of keys; `Configs/base.yaml` and docs/configuration.md
/// are held against it, and the older spellings of renamed keys still load.
@Suite("The table of configuration keys")
struct ConfigurationKeyTableTests {
    static let configs = DatasetFixtures.configs
    static let docs = configs.deletingLastPathComponent().appendingPathComponent("docs/configuration.md")
    static let table = Dictionary(ConfigurationKeys.all.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })

    @Test("Every key is in the table once")
    func keysAreUnique() {
        let paths = ConfigurationKeys.all.map(\.path)
        #expect(Set(paths).count == paths.count, "\(Dictionary(grouping: paths, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted())")
        for key in ConfigurationKeys.all {
            #expect(!key.doc.isEmpty && !key.doc.contains("\n"), "\(key.path): the doc is one line")
        }
    }

    @Test("base.yaml states every key with the table's default, and no other key")
    func baseYAMLAgreesWithTable() throws {
        let text = try String(contentsOf: Self.configs.appendingPathComponent("base.yaml"), encoding: .utf8)
        let tree = try #require(try ConfigurationNode.parse(yaml: text, file: nil, sourceName: "base.yaml"))
        var leaves: [String: ConfigurationNode] = [:]
        collectLeaves(tree, path: "", into: &leaves)
        for (path, _) in leaves {
            #expect(Self.table[path] != nil, "base.yaml has \(path), which the table does not know")
        }
        for key in ConfigurationKeys.all {
            let value = leaves[key.path]
            switch key.presence {
            case .stated:
                guard let value else {
                    Issue.record("base.yaml lacks \(key.path)")
                    continue
                }
                #expect(sameValue(value, key.defaultNode ?? .null(origin: .resolved)),
                        "\(key.path): base.yaml says \(value.inlineText), the table \(key.defaultNode?.inlineText ?? "required")")
            case .statedWithOwnValue:
                #expect(value != nil && value?.isNull == false, "base.yaml lacks \(key.path)")
            case .absent:
                #expect(value == nil || value?.isNull == true, "base.yaml sets \(key.path), which it should leave to the dataset configs")
            }
        }
    }

    @Test("docs/configuration.md has a row for every key, with the table's type and default, and no other row")
    func docsAgreeWithTable() throws {
        let rows = try documentedRows()
        for (path, _) in rows {
            #expect(Self.table[path] != nil, "docs/configuration.md documents \(path), which the table does not know")
        }
        for key in ConfigurationKeys.all {
            guard let row = rows[key.path] else {
                Issue.record("docs/configuration.md has no row for \(key.path)")
                continue
            }
            #expect(row.type == key.typeName, "\(key.path): the docs say it is a \(row.type), the table a \(key.typeName)")
            let cell = row.defaultCell
            let documented = Self.documentedDefault(cell)
            switch (key.defaultNode, documented) {
            case (nil, nil), (nil, .some(.scalar(_, .null))): break
            case (let node?, let literal?):
                #expect(sameValue(ConfigurationNode(content: literal, origin: .resolved), node),
                        "\(key.path): the docs say \(cell), the table \(node.inlineText)")
            case (let node?, nil):
                #expect(node.isNull, "\(key.path): the docs give no default (\(cell)), the table \(node.inlineText)")
            case (nil, let literal?):
                Issue.record("\(key.path) is required, and the docs give the default \(literal)")
            }
        }
    }

    @Test("Every key the decoding reads is in the table")
    func decodingReadsOnlyTableKeys() throws {
        let tree = try ConfigurationLoader.load(
            yaml: "base: base.yaml\ndataset: {kind: folder, name: x, root: /data, class_profile: {kind: long_tail, imbalance: 10}, transform: {name: pixelate, parameters: {block: 8}}}\n",
            baseDirectory: Self.configs, sourceName: "child.yaml")
        let context = ConfigurationDecodingContext(documentName: "child.yaml")
        _ = try ExperimentConfiguration.decode(tree, documentName: "child.yaml", context: context)
        let paths = Set(context.askedKeyPaths)
        for path in paths {
            let known = Self.table[path] != nil || ConfigurationKeys.all.contains { $0.path.hasPrefix(path + ".") }
            #expect(known, "the decoding reads \(path), which the table does not know")
        }
        for key in ConfigurationKeys.all where key.path != "base" {
            #expect(paths.contains(key.path) || key.path.hasPrefix("dataset.class_profile."), "the decoding never reads \(key.path)")
        }
    }

    @Test("The label-free methods' and the trainer's own defaults are the table's")
    func libraryDefaultsAgree() {
        typealias LabelFree = ConfigurationKeys.LabelFree
        for (keys, transport) in [(LabelFree.inMaP, TransportProxySettings()), (LabelFree.priorTransport, PriorTransportMethod.Settings().transport)] {
            #expect(Float(keys.sinkhornTemperature.defaultValue) == transport.sinkhornTemperature)
            #expect(keys.sinkhornIterations.defaultValue == transport.sinkhornIterations)
            #expect(Float(keys.oneHotThreshold.defaultValue) == transport.oneHotThreshold)
            #expect(Float(keys.proxyTemperature.defaultValue) == transport.proxyTemperature)
            #expect(Float(keys.learningRate.defaultValue) == transport.learningRate)
            #expect(keys.steps.defaultValue == transport.steps)
            #expect(keys.poolSample.defaultValue == transport.poolSample)
        }
        #expect(LabelFree.priorIterations.defaultValue == PriorTransportMethod.Settings().priorIterations)
        #expect(LabelFree.priorTransportRounds.defaultValue == PriorTransportMethod.Settings().rounds)
        #expect(LabelFree.keepZeroShotAbove.defaultValue == PriorTransportMethod.Settings().keepZeroShotAbove)
        #expect(LabelFree.hedgeUniform.defaultValue == PriorTransportMethod.Settings().hedgeUniform)
        let transCLIP = TransCLIPMethod.Settings()
        #expect(Float(LabelFree.transCLIPLambda.defaultValue) == transCLIP.lambda)
        #expect(LabelFree.transCLIPNeighbours.defaultValue == transCLIP.neighbours)
        #expect(LabelFree.transCLIPOuterIterations.defaultValue == transCLIP.outerIterations)
        #expect(LabelFree.transCLIPAssignmentSteps.defaultValue == transCLIP.assignmentSteps)
        #expect(LabelFree.transCLIPInitialImagesPerClass.defaultValue == transCLIP.initialImagesPerClass)
        #expect(LabelFree.transCLIPPoolSample.defaultValue == transCLIP.poolSample)
        let zLaP = ZLaPMethod.Settings()
        #expect(LabelFree.zLaPNeighbours.defaultValue == zLaP.neighbours)
        #expect(Float(LabelFree.zLaPGamma.defaultValue) == zLaP.gamma)
        #expect(Float(LabelFree.zLaPAlpha.defaultValue) == zLaP.alpha)
        #expect(LabelFree.zLaPTolerance.defaultValue == zLaP.tolerance)
        #expect(LabelFree.zLaPMaximumIterations.defaultValue == zLaP.maximumIterations)
        #expect(LabelFree.zLaPPoolSample.defaultValue == zLaP.poolSample)
    }

    @Test("Older spellings still load, override the new names of a base, and are written under the new names")
    func olderSpellingsLoad() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("key-aliases-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let yaml = """
            base: \(Self.configs.appendingPathComponent("base.yaml").path)
            dataset: {kind: folder, name: x, root: /data}
            methods: [zero_shot, paper, selected, self_training]
            primary_method: paper
            model_selection:
              holdout_fraction: 0.4
              criteria: [held_out_pseudo_labels, soft_neighborhood_density]
            """
        let old = try ExperimentConfiguration(yaml: yaml, baseDirectory: folder, sourceName: "old.yaml")
        #expect(old.methods == [.zeroShot, .paperRecipe, .modelSelection, .selfTraining])
        #expect(old.primaryMethod == .paperRecipe)
        #expect(old.modelSelection.heldOutFraction == 0.4)
        #expect(old.modelSelection.criteria == [.heldOutPseudoLabels, .softNeighbourhoodDensity])
        let overridden = try old.applying(overrides: ["model_selection.holdout_fraction=0.3"])
        #expect(overridden.modelSelection.heldOutFraction == 0.3)
        let resolved = old.resolvedYAML()
        #expect(resolved.contains("held_out_fraction: 0.4"))
        #expect(resolved.contains("paper_recipe") && resolved.contains("soft_neighbourhood_density"))
        #expect(!resolved.contains("holdout_fraction") && !resolved.contains("soft_neighborhood") && !resolved.contains("- paper\n"))
        #expect(throws: ExperimentsError.self) {
            try ExperimentConfiguration(
                yaml: yaml + "\n  held_out_fraction: 0.2\n", baseDirectory: folder, sourceName: "both.yaml")
        }
    }

    // MARK: Helpers

    private func collectLeaves(_ node: ConfigurationNode, path: String, into leaves: inout [String: ConfigurationNode]) {
        guard let entries = node.entries else { return }
        for entry in entries {
            let childPath = path.isEmpty ? entry.key : "\(path).\(entry.key)"
            if Self.table[childPath] == nil, entry.value.entries != nil {
                collectLeaves(entry.value, path: childPath, into: &leaves)
            } else {
                leaves[childPath] = entry.value
            }
        }
    }

    /// The default cell of every key row of docs/configuration.md, by key path (the section
    /// heading `### \`name\`` gives the prefix; `### Top level` none).
    private func documentedRows() throws -> [String: (type: String, defaultCell: String)] {
        let text = try String(contentsOf: Self.docs, encoding: .utf8)
        var rows: [String: (type: String, defaultCell: String)] = [:]
        var section: String?
        var inKeyTable = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("### ") {
                let heading = line.dropFirst(4)
                section = heading == "Top level" ? "" : heading.hasPrefix("`") ? heading.split(separator: "`").first.map(String.init) : nil
                inKeyTable = false
                continue
            }
            guard let section, line.hasPrefix("|") else {
                inKeyTable = inKeyTable && line.hasPrefix("|")
                continue
            }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.count > 3, cells[1] == "key" { inKeyTable = true; continue }
            guard inKeyTable, cells.count > 3, !cells[1].hasPrefix("-") else { continue }
            for key in cells[1].split(separator: "`", omittingEmptySubsequences: false).enumerated().filter({ $0.offset % 2 == 1 }).map({ String($0.element) }) {
                rows[section.isEmpty ? key : "\(section).\(key)"] = (type: cells[2], defaultCell: cells[3])
            }
        }
        return rows
    }

    /// The literal a default cell starts with (`` `0.25` ``), parsed as YAML; nil when the
    /// cell states no literal (`required`, `—`, `standard names in \`root\``).
    private static func documentedDefault(_ cell: String) -> ConfigurationNode.Content? {
        guard cell.hasPrefix("`"), let literal = cell.split(separator: "`").first else { return nil }
        return (try? ConfigurationNode.parse(yaml: String(literal), file: nil, sourceName: "docs"))?.content
    }
}

/// Whether two values are the same: numbers by value (`1` and `1.0`), the rest by text.
private func sameValue(_ left: ConfigurationNode, _ right: ConfigurationNode) -> Bool {
    switch (left.content, right.content) {
    case (.scalar(let a, let kindA), .scalar(let b, let kindB)):
        if kindA == .null || kindB == .null { return kindA == kindB }
        if let x = parseFloat(a), let y = parseFloat(b), [kindA, kindB].allSatisfy({ $0 == .int || $0 == .float }) { return x == y }
        return a == b
    case (.sequence(let a), .sequence(let b)):
        return a.count == b.count && zip(a, b).allSatisfy { sameValue($0, $1) }
    case (.mapping(let a), .mapping(let b)):
        return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && sameValue($0.value, $1.value) }
    default:
        return false
    }
}
