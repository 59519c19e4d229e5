import Foundation
import Testing

import Compute

@testable import Datasets
@testable import Experiments
@testable import Reports

/// Sweep specifications, cell enumeration and aggregation over seeds, on reports with known
/// accuracies.
@Suite("Sweeps")
struct SweepTests {
    static let configYAML = """
        model:
          path: models/clip
        dataset:
          kind: folder
          name: pets
          root: data/pets
        prompts:
          template: "a photo of a {}."
        """

    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-sweep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try configYAML.write(to: url.appendingPathComponent("alpha.yaml"), atomically: true, encoding: .utf8)
        try configYAML.write(to: url.appendingPathComponent("beta.yaml"), atomically: true, encoding: .utf8)
        try """
            name: toy
            configs: [alpha.yaml, beta.yaml]
            seeds: [1, 2, 3]
            variants:
              default: []
              short: ["training.epochs=2", "methods=[zero_shot, self_training]"]
            output: out
            """.write(to: url.appendingPathComponent("toy.yaml"), atomically: true, encoding: .utf8)
        return url
    }

    /// A report with zero-shot at `zeroShot` and method "M" at `accuracy` (one class, so the
    /// per-class accuracy is the top-1).
    static func report(zeroShot: Double, accuracy: Double) -> RunReport {
        let summary = RunSummary(
            configurationName: "cell", configurationPath: "", timestamp: "2026-01-01T00:00:00Z", seed: 1, deviceName: "cpu",
            deviceDescription: "", toolVersion: "test", modelDirectory: "", modelDigest: "", datasetName: "toy",
            unlabeledSplit: "train", unlabeledCount: 10, testSplit: "test", testCount: 10, classNames: ["only"])
        return RunReport(summary: summary, selection: nil, methods: [
            MethodResult(name: "Zero-shot CLIP", kind: .zeroShot, usesLabels: false, top1Accuracy: zeroShot, perClassAccuracy: [zeroShot], confusionMatrix: []),
            MethodResult(name: "M", kind: .upAdapter, usesLabels: false, top1Accuracy: accuracy, perClassAccuracy: [accuracy], confusionMatrix: []),
        ])
    }

    @Test("cells are configs × variants × seeds in order, named by all three, each with its overrides and seed")
    func cells() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let specification = try SweepSpecification.load(from: folder.appendingPathComponent("toy.yaml"))
        #expect(specification.output == folder.appendingPathComponent("out").standardizedFileURL)
        let cells = specification.cells
        #expect(cells.count == 2 * 2 * 3)
        #expect(cells.prefix(4).map(\.name) == ["alpha__default__seed1", "alpha__default__seed2", "alpha__default__seed3", "alpha__short__seed1"])
        #expect(cells.last?.name == "beta__short__seed3" && cells.last?.index == 11)
        let sweep = Sweep(specification: specification, backend: CPUBackend(), progress: ProgressReporter(quiet: true))
        let configuration = try sweep.configuration(of: cells[4])
        #expect(configuration.training.epochs == 2 && configuration.training.seed == 2)
        #expect(configuration.methods == [.zeroShot, .selfTraining])
        #expect(configuration.runsDirectory == specification.cellsDirectory)
    }

    @Test("aggregation: mean ± sample standard deviation over finished seeds, gains over zero-shot, and the average gain")
    func aggregation() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let specification = try SweepSpecification.load(from: folder.appendingPathComponent("toy.yaml"))
        let cells = specification.cells
        let finished: [(Int, Double, Double)] = [(0, 0.5, 0.6), (1, 0.5, 0.7), (2, 0.5, 0.8), (6, 0.5, 0.4)]
        for (index, zeroShot, accuracy) in finished {
            let run = specification.cellsDirectory.appendingPathComponent(cells[index].name).appendingPathComponent("20260101-000000")
            try RunReportWriter.write(Self.report(zeroShot: zeroShot, accuracy: accuracy), to: run)
        }
        // A run folder without metrics (an interrupted cell) does not count.
        try FileManager.default.createDirectory(at: specification.cellsDirectory.appendingPathComponent(cells[3].name).appendingPathComponent("x"),
                                                withIntermediateDirectories: true)
        let sweep = Sweep(specification: specification, backend: CPUBackend(), progress: ProgressReporter(quiet: true))
        #expect(sweep.finishedReport(cells[3]) == nil)
        let summary = try sweep.aggregate()
        #expect(summary.finishedCount == 4 && summary.cellCount == 12)
        let table = try #require(summary.tables.first { $0.variant == "default" })
        let row = try #require(table.rows.first { $0.method == "M" })
        let alpha = try #require(row.configurations["alpha"]), beta = try #require(row.configurations["beta"])
        #expect(abs(alpha.mean - 0.7) < 1e-12 && abs(alpha.standardDeviation - 0.1) < 1e-12 && alpha.seeds == 3)
        #expect(abs((alpha.meanGain ?? .nan) - 0.2) < 1e-12)
        #expect(abs(beta.mean - 0.4) < 1e-12 && beta.standardDeviation == 0 && abs((beta.meanGain ?? .nan) + 0.1) < 1e-12)
        #expect(abs((row.averageGain ?? .nan) - 0.05) < 1e-12)
        #expect(summary.tables.first { $0.variant == "short" }?.rows.isEmpty == true)
        let markdown = try String(contentsOf: specification.output.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(markdown.contains("| M | no | 70.00 ± 10.00 (+20.00) | 40.00 (-10.00) | +5.00 |"))
        let json = try JSONDecoder().decode(SweepSummary.self, from: Data(contentsOf: specification.output.appendingPathComponent("summary.json")))
        #expect(json == summary)
        #expect(FileManager.default.fileExists(atPath: specification.output.appendingPathComponent("summary.html").path))
    }

    @Test("balanced accuracy is aggregated over seeds like top-1, in its own field and table")
    func balancedAggregation() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let specification = try SweepSpecification.load(from: folder.appendingPathComponent("toy.yaml"))
        let cells = specification.cells
        // Two classes; top-1 stays 0.9 while the second class's accuracy moves, so the balanced
        // accuracies are 0.6, 0.7, 0.8 (alpha) and 0.4 (beta) against zero-shot's 0.5.
        let finished: [(Int, [Double])] = [(0, [1, 0.2]), (1, [1, 0.4]), (2, [1, 0.6]), (6, [0.4, 0.4])]
        for (index, perClass) in finished {
            var report = Self.report(zeroShot: 0.5, accuracy: 0.9)
            report.summary.classNames = ["one", "two"]
            report.methods[0] = MethodResult(name: "Zero-shot CLIP", kind: .zeroShot, usesLabels: false, top1Accuracy: 0.5,
                                             perClassAccuracy: [0.5, 0.5], confusionMatrix: [])
            report.methods[1] = MethodResult(name: "M", kind: .upAdapter, usesLabels: false, top1Accuracy: 0.9,
                                             perClassAccuracy: perClass, confusionMatrix: [])
            let run = specification.cellsDirectory.appendingPathComponent(cells[index].name).appendingPathComponent("20260101-000000")
            try RunReportWriter.write(report, to: run)
        }
        let sweep = Sweep(specification: specification, backend: CPUBackend(), progress: ProgressReporter(quiet: true))
        let summary = try sweep.aggregate()
        let row = try #require(summary.tables.first { $0.variant == "default" }?.rows.first { $0.method == "M" })
        let alpha = try #require(row.balancedConfigurations["alpha"]), beta = try #require(row.balancedConfigurations["beta"])
        #expect(abs(alpha.mean - 0.7) < 1e-12 && abs(alpha.standardDeviation - 0.1) < 1e-12 && alpha.seeds == 3)
        #expect(abs((alpha.meanGain ?? .nan) - 0.2) < 1e-12)
        #expect(abs(beta.mean - 0.4) < 1e-12 && abs((beta.meanGain ?? .nan) + 0.1) < 1e-12)
        #expect(abs((row.averageBalancedGain ?? .nan) - 0.05) < 1e-12)
        // Top-1 is untouched by the per-class values.
        #expect(abs((row.configurations["alpha"]?.mean ?? .nan) - 0.9) < 1e-12)
        let markdown = try String(contentsOf: specification.output.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(markdown.contains("## Variant default (no overrides): balanced accuracy"))
        #expect(markdown.contains("## Variant default (no overrides): top-1 accuracy"))
        #expect(markdown.contains("| M | no | 70.00 ± 10.00 (+20.00) | 40.00 (-10.00) | +5.00 |"))
        #expect(markdown.contains("| M | no | 90.00 ± 0.00 (+40.00) | 90.00 (+40.00) | +40.00 |"))
        let html = try String(contentsOf: specification.output.appendingPathComponent("summary.html"), encoding: .utf8)
        #expect(html.contains("balanced accuracy"))
    }

    @Test("a specification with an unknown key or a missing configuration is refused, naming it")
    func errors() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try "configs: [alpha.yaml]\nsede: [1]\n".write(to: folder.appendingPathComponent("typo.yaml"), atomically: true, encoding: .utf8)
        #expect(throws: ExperimentsError.self) { try SweepSpecification.load(from: folder.appendingPathComponent("typo.yaml")) }
        do {
            _ = try SweepSpecification.load(from: folder.appendingPathComponent("typo.yaml"))
        } catch {
            #expect("\(error)".contains("sede"))
        }
        try "configs: [alpha.yaml, gamma.yaml]\n".write(to: folder.appendingPathComponent("missing.yaml"), atomically: true, encoding: .utf8)
        #expect(throws: ExperimentsError.pathNotFound(keyPath: "configs (gamma.yaml)", path: folder.appendingPathComponent("gamma.yaml").standardizedFileURL.path)) {
            try SweepSpecification.load(from: folder.appendingPathComponent("missing.yaml"))
        }
    }
}
