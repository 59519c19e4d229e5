import Experiments
import Foundation
import Reports
import TestSupport
import Testing

/// `dataset.class_profile` through `upadapter run`: the run sees the profile's counts in both
/// splits, reports balanced accuracy, and draws its subsample from the cached features of the
/// full splits (a second profile encodes nothing).
@Suite("Class profile in a run", .serialized)
struct ClassProfilePipelineTests {
    @Test("a run keeps the profile's counts in pool and test, and another profile reuses the full splits' cache")
    func runWithProfile() throws {
        let root = try TemporaryFolder.create("class-profile")
        defer { try? FileManager.default.removeItem(at: root) }
        try PipelineIntegrationTests.writeColorDataset(root: root.appendingPathComponent("data"), classes: ["red", "green", "blue"], perClass: 8)
        func write(_ name: String, profile: String) throws -> URL {
            let url = root.appendingPathComponent(name)
            try """
                base: \(PipelineIntegrationTests.repository.appendingPathComponent("Configs/base.yaml").path)
                model: {path: \(PipelineIntegrationTests.fixtureModel.path)}
                dataset: {kind: folder, name: Colors, root: data, class_profile: \(profile)}
                prompts: {templates: ["a photo of a {}."]}
                selection: {top_k: 2}
                training: {epochs: 1}
                methods: [zero_shot, paper]
                primary_method: paper
                cache_dir: cache
                runs_dir: runs
                """.write(to: url, atomically: true, encoding: .utf8)
            return url
        }
        let counts = try write("counts.yaml", profile: "{kind: counts, counts: [8, 4, 2]}")
        let result = try PipelineIntegrationTests.run(["run", "--config", counts.path, "--device", "cpu", "--quiet"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("Balanced"), "\(result.output)")
        let directory = try #require(try PipelineIntegrationTests.runDirectories(root.appendingPathComponent("runs/counts")).last)
        let report = try RunReport.load(metricsFile: directory.appendingPathComponent("metrics.json"))
        #expect(report.summary.unlabeledCount == 14 && report.summary.testCount == 14)
        let zeroShot = try #require(report.zeroShot)
        #expect(zeroShot.confusionMatrix.map { $0.reduce(0, +) } == [8, 4, 2], "test images per class")
        #expect(report.summary.notes.contains { $0.hasPrefix("class profile counts(counts=[8,4,2], seed=1)") }, "\(report.summary.notes)")
        // Balanced accuracy is the mean of the three classes' accuracies.
        let perClass = zip(zeroShot.confusionMatrix.indices, zeroShot.confusionMatrix).map { Double($1[$0]) / Double($1.reduce(0, +)) }
        #expect(abs(zeroShot.balancedAccuracy - perClass.reduce(0, +) / 3) < 1e-12)

        // The cache holds the full splits (24 images each), and a long-tailed profile of the same
        // data encodes no image again.
        let cache = root.appendingPathComponent("cache")
        let before = try PipelineIntegrationTests.featureFileDates(in: cache)
        #expect(before.count == 2, "\(before)")
        for file in before.keys {
            let manifest = try String(contentsOf: URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("manifest.json"), encoding: .utf8)
            #expect(manifest.contains("24"), "\(manifest)")
        }
        let longTail = try write("longtail.yaml", profile: "{kind: long_tail, imbalance: 4, seed: 5}")
        let second = try PipelineIntegrationTests.run(["run", "--config", longTail.path, "--device", "cpu", "--quiet"])
        #expect(second.status == 0, "\(second.output)")
        #expect(try PipelineIntegrationTests.featureFileDates(in: cache) == before, "a profile re-encoded the split")
        let longDirectory = try #require(try PipelineIntegrationTests.runDirectories(root.appendingPathComponent("runs/longtail")).last)
        let longReport = try RunReport.load(metricsFile: longDirectory.appendingPathComponent("metrics.json"))
        // 8 per class, imbalance 4 over 3 classes: 8, 8 · 4^(−1/2) = 4, 8 / 4 = 2.
        #expect(longReport.zeroShot?.confusionMatrix.map { $0.reduce(0, +) }.sorted() == [2, 4, 8])

        // Too few images: the run stops with the class named.
        let tooMany = try write("toomany.yaml", profile: "{kind: counts, counts: [8, 9, 2]}")
        let failed = try PipelineIntegrationTests.run(["run", "--config", tooMany.path, "--device", "cpu", "--quiet"])
        #expect(failed.status != 0)
        #expect(failed.output.contains("'green'") && failed.output.contains("9"), "\(failed.output)")
    }
}
