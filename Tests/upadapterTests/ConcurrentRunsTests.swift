import CLIPEncoder
import Foundation
import TestSupport
import Testing

@testable import Experiments
@testable import FeatureCache
@testable import Reports

/// Issue #12: four `upadapter run` started at once on one configuration and one cache, on a
/// cold cache and again on the warm one, all succeed with complete, distinct run folders and
/// leave a valid cache.
@Suite("Concurrent runs", .serialized)
struct ConcurrentRunsTests {
    static let files = ["config.yaml", "run.json", "metrics.json", "report.md", "report.html", "adapter.safetensors"]

    /// Starts `count` copies of `upadapter arguments` at once; returns (status, output) of each.
    static func runTogether(_ arguments: [String], count: Int) throws -> [(status: Int32, output: String)] {
        var processes: [(Process, URL)] = []
        for index in 0..<count {
            let process = Process()
            process.executableURL = PipelineIntegrationTests.binary
            process.arguments = arguments
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-concurrent-\(index)-\(UUID().uuidString)")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            processes.append((process, log))
        }
        for (process, _) in processes { try process.run() }
        return try processes.map { process, log in
            process.waitUntilExit()
            defer { try? FileManager.default.removeItem(at: log) }
            let signalled = process.terminationReason == .uncaughtSignal
            return (signalled ? -process.terminationStatus : process.terminationStatus, String(decoding: try Data(contentsOf: log), as: UTF8.self))
        }
    }

    @Test("Four simultaneous runs, cold then warm: all exit 0, every run folder complete, the cache valid")
    func fourRuns() throws {
        let root = try TemporaryFolder.create("concurrent")
        defer { try? FileManager.default.removeItem(at: root) }
        try PipelineIntegrationTests.writeColorDataset(root: root.appendingPathComponent("data"), classes: ["red", "green", "blue"], perClass: 6)
        let config = root.appendingPathComponent("shared.yaml")
        try PipelineIntegrationTests.writeColorConfig(config, """
            selection: {top_k: 3}
            prototypes: {augment_views: 1}
            training: {epochs: 2}
            baselines: {supervised_shots: [1]}
            methods: [zero_shot, paper, tip_adapter_pseudo]
            primary_method: paper
            extraction: {batch_size: 4, chunk_size: 5}
            cache_dir: cache
            runs_dir: runs
            """)
        let arguments = ["run", "--config", config.path, "--device", "cpu", "--quiet"]
        let runs = root.appendingPathComponent("runs/shared")
        let cache = root.appendingPathComponent("cache")

        var accuracies: Set<String> = []
        var featureDates: [String: Date] = [:]
        for (round, expectedFolders) in [("cold", 4), ("warm", 8)] {
            let results = try Self.runTogether(arguments, count: 4)
            for (index, result) in results.enumerated() {
                #expect(result.status == 0, "\(round) run \(index): status \(result.status)\n\(result.output)")
                #expect(result.output.contains("report: "), "\(round) run \(index)\n\(result.output)")
            }
            // Every printed report path exists, and the folders are distinct and complete.
            let printed = results.compactMap { $0.output.split(separator: "\n").last { $0.hasPrefix("report: ") }.map { String($0.dropFirst(8)) } }
            #expect(Set(printed).count == 4, "\(round): \(printed)")
            for path in printed { #expect(FileManager.default.fileExists(atPath: path), "\(round): \(path) missing") }
            let folders = try FileManager.default.contentsOfDirectory(atPath: runs.path)
            #expect(folders.filter { !$0.hasPrefix(".") }.count == expectedFolders, "\(round): \(folders.sorted())")
            #expect(folders.filter { $0.hasPrefix(".") }.isEmpty, "\(round): staging left behind: \(folders.sorted())")
            for folder in folders where !folder.hasPrefix(".") {
                for file in Self.files {
                    #expect(FileManager.default.fileExists(atPath: runs.appendingPathComponent(folder).appendingPathComponent(file).path),
                            "\(round): \(folder)/\(file) missing")
                }
                let report = try RunReport.load(metricsFile: runs.appendingPathComponent(folder).appendingPathComponent("metrics.json"))
                accuracies.insert(report.methods.map { "\($0.name)=\($0.top1Accuracy)" }.joined(separator: ","))
            }
            // The cache: complete entries only, each file verified by its checksum, no chunks or temporary files left.
            let cacheFiles = try PipelineIntegrationTests.files(in: cache)
            #expect(try PipelineIntegrationTests.chunkFiles(in: cache).isEmpty, "\(round): chunks left")
            #expect(cacheFiles.filter { $0.lastPathComponent.hasSuffix(".tmp") }.isEmpty, "\(round): temporary files left")
            let features = try PipelineIntegrationTests.featureFiles(in: cache)
            #expect(features.count == 3, "\(round): unlabeled, test and one view: \(features.map(\.path))")
            for file in features {
                let opened = try SafeTensorsFile(url: file)
                let header = try FeatureFile.header(of: opened)
                _ = try FeatureFile.contents(of: opened, header: header)  // throws on a checksum mismatch
                let manifest = try FeatureCacheManifest.read(folder: file.deletingLastPathComponent())
                #expect(manifest.status == "complete")
                #expect(manifest.featuresChecksum == opened.metadata[FeatureFile.checksumKey])
            }
            let dates = try PipelineIntegrationTests.featureFileDates(in: cache)
            if round == "warm" { #expect(dates == featureDates, "the warm runs rewrote cached features") }
            featureDates = dates
        }
        #expect(accuracies.count == 1, "runs of one config and seed disagree: \(accuracies)")
    }
}
