import Compute
import Foundation
import TestSupport
import Testing

@testable import Experiments
@testable import Reports

/// Issue #12: `kill -9` at random moments of `upadapter run`, repeated on one cache and one
/// runs folder, then a clean rerun: it succeeds, cleans what the killed runs left, and gives
/// the same results as an uninterrupted run on a fresh cache.
@Suite("Fault injection: kill -9 during runs", .serialized)
struct FaultInjectionTests {
    /// What a run folder's metrics say, as one comparable string.
    static func results(in runs: URL) throws -> [String] {
        try PipelineIntegrationTests.runDirectories(runs).map { folder in
            let report = try RunReport.load(metricsFile: folder.appendingPathComponent("metrics.json"))
            return report.methods.map { "\($0.name)=\($0.top1Accuracy)" }.joined(separator: ",")
                + " selected=\(report.selection?.selectedCount ?? -1) precision=\(report.selection?.precision ?? -1)"
        }
    }

    @Test("Runs killed at seeded random moments, then a clean rerun equal to an uninterrupted one")
    func killedRuns() throws {
        let root = try TemporaryFolder.create("kill")
        defer { try? FileManager.default.removeItem(at: root) }
        try PipelineIntegrationTests.writeColorDataset(root: root.appendingPathComponent("data"), classes: ["red", "green", "blue"], perClass: 10)
        func config(_ name: String) throws -> URL {
            let url = root.appendingPathComponent("\(name).yaml")
            try PipelineIntegrationTests.writeColorConfig(url, """
                selection: {top_k: 4}
                prototypes: {augment_views: 1}
                training: {epochs: 3}
                baselines: {supervised_shots: [2]}
                extraction: {batch_size: 2, chunk_size: 3}
                cache_dir: cache-\(name)
                runs_dir: runs-\(name)
                """)
            return url
        }
        let reference = try config("reference"), killed = try config("killed")
        let started = Date()
        let uninterrupted = try PipelineIntegrationTests.run(["run", "--config", reference.path, "--device", "cpu", "--quiet"])
        // Kill moments scale with how long a cold run takes on this machine, so that the first
        // (cold) killed run is always interrupted, however fast the build and the machine are.
        let coldSeconds = Date().timeIntervalSince(started)
        #expect(uninterrupted.status == 0, "\(uninterrupted.output)")
        let expected = try Self.results(in: root.appendingPathComponent("runs-reference/reference"))
        #expect(expected.count == 1)

        var generator = SeededGenerator(seed: 2026)
        var killedCount = 0
        for _ in 0..<6 {
            let process = Process()
            process.executableURL = PipelineIntegrationTests.binary
            process.arguments = ["run", "--config", killed.path, "--device", "cpu", "--quiet"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: coldSeconds * Double.random(in: 0.02...0.6, using: &generator))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killedCount += 1
            }
            process.waitUntilExit()
        }
        #expect(killedCount > 0, "no run was killed: every run finished before its kill")

        let rerun = try PipelineIntegrationTests.run(["run", "--config", killed.path, "--device", "cpu", "--quiet"])
        #expect(rerun.status == 0, "\(rerun.output)")
        let runs = root.appendingPathComponent("runs-killed/killed")
        let results = try Self.results(in: runs)  // throws if a folder lacks metrics.json
        #expect(!results.isEmpty)
        #expect(Set(results) == Set(expected), "killed-then-rerun results differ from an uninterrupted run")
        for folder in try PipelineIntegrationTests.runDirectories(runs) {
            for file in ConcurrentRunsTests.files {
                #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), "\(folder.lastPathComponent)/\(file) missing")
            }
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: runs.path).filter { $0.hasSuffix(".partial") }
        #expect(leftovers.isEmpty, "staging folders of killed runs were not cleaned: \(leftovers)")
        #expect(try PipelineIntegrationTests.chunkFiles(in: root.appendingPathComponent("cache-killed")).isEmpty)
    }
}
