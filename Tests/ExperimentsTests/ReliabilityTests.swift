import CLIPEncoder
import Compute
import FileIntegrity
import Foundation
import PrototypeTrainer
import Support
import TestSupport
import Testing

@testable import Datasets
@testable import Experiments
@testable import FeatureCache

/// Issue #12: limits before allocation, finite-or-refused values, cache integrity and run
/// folders that never collide.
@Suite("Reliability: limits, finiteness, cache integrity, run folders")
struct ReliabilityTests {
    static let minimalYAML = """
        model:
          path: models/clip
        dataset:
          kind: folder
          name: pets
          root: data/pets
        prompts:
          template: "a photo of a {}."
        """

    static func configuration(_ extra: String) throws -> ExperimentConfiguration {
        try ExperimentConfiguration(yaml: minimalYAML + "\n" + extra, baseDirectory: URL(fileURLWithPath: "/tmp/configs"), sourceName: "test.yaml")
    }

    /// The message of the error `body` throws, failing the test when it throws nothing.
    static func message(_ body: () throws -> Void) -> String {
        do {
            try body()
        } catch {
            return "\(error)"
        }
        Issue.record("expected an error")
        return ""
    }

    // MARK: Configuration values

    @Test("Non-finite and out-of-range hyper-parameters are refused naming the key", arguments: [
        ("training:\n  learning_rate: .inf", "training.learning_rate"),
        ("training:\n  weight_decay: .inf", "training.weight_decay"),
        ("training:\n  epsilon: .nan", "training.epsilon"),
        ("adapter:\n  beta: .inf", "adapter.beta"),
        ("adapter:\n  alpha: 1e300", "adapter.alpha"),
        ("adapter:\n  logit_scale: -.inf", "adapter.logit_scale"),
        ("model_selection:\n  alpha_grid: [1, .nan]", "model_selection.alpha_grid"),
        ("model_selection:\n  beta_grid: [0]", "model_selection.beta_grid"),
        ("selection:\n  min_confidence: .nan", "selection.min_confidence"),
        ("training:\n  epochs: 100000000000", "training.epochs"),
        ("prototypes:\n  augment_views: 1000000000", "prototypes.augment_views"),
        ("selection:\n  top_k: 1000000000000", "selection.top_k"),
        ("baselines:\n  supervised_shots: [1, 2, 2]", "baselines.supervised_shots"),
    ])
    func refusedValues(yaml: String, key: String) {
        let text = Self.message { _ = try Self.configuration(yaml) }
        #expect(text.contains("'\(key)'"), "\(text)")
        #expect(text.contains("test.yaml"), "\(text)")
    }

    @Test("Values inside the ranges are accepted unchanged")
    func acceptedValues() throws {
        let configuration = try Self.configuration(
            "training: {learning_rate: 10, weight_decay: 0, epochs: 100000}\nadapter: {alpha: 1000, beta: 0.001}\nprototypes: {augment_views: 64}")
        #expect(configuration.training.learningRate == 10)
        #expect(configuration.training.epochs == 100_000)
        #expect(configuration.adapter.alpha == 1000)
        #expect(configuration.adapter.beta == 0.001)
        #expect(configuration.prototypes.augmentViews == 64)
    }

    @Test("A YAML alias bomb stops at the node budget instead of growing without end")
    func aliasBomb() {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1...9 {
            lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        let text = Self.message { _ = try Self.configuration(lines.joined(separator: "\n")) }
        #expect(text.contains("test.yaml"), "\(text)")
        #expect(text.contains("more than \(ConfigurationNode.maximumNodeCount) values"), "\(text)")
    }

    @Test("A configuration text over 1 MiB is refused before parsing")
    func hugeText() {
        let text = Self.message { _ = try Self.configuration("# " + String(repeating: "x", count: ConfigurationNode.maximumTextBytes)) }
        #expect(text.contains("more than the \(ConfigurationNode.maximumTextBytes)"), "\(text)")
    }

    // MARK: IDX gzip bomb

    @Test("A gzipped IDX file inflating past its header's size stops at that size")
    func idxGzipBomb() throws {
        let folder = try TemporaryFolder()
        let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28]  // 10 images of 28×28: 7 856 bytes
        let bomb = folder.url.appendingPathComponent("train-images-idx3-ubyte.gz")
        try GzipCompression.compress(header + [UInt8](repeating: 0, count: 64 << 20)).write(to: bomb)
        let text = Self.message { _ = try IDXFile(contentsOf: bomb, expectedMagic: IDXFile.imagesMagic, dataset: "bomb") }
        #expect(text.contains(bomb.path), "\(text)")
        #expect(text.contains("more than 7856 bytes"), "\(text)")

        // The same header with exactly its values still reads.
        let good = folder.url.appendingPathComponent("good.gz")
        try GzipCompression.compress(header + [UInt8](repeating: 7, count: 7840)).write(to: good)
        let file = try IDXFile(contentsOf: good, expectedMagic: IDXFile.imagesMagic, dataset: "good")
        #expect(file.dimensions == [10, 28, 28])
        #expect(file.values.count == 7840)
    }

    // MARK: Feature cache integrity

    @Test("A cached features file with altered values is re-extracted with a warning")
    func alteredFeaturesReextracted() throws {
        let folder = try TemporaryFolder()
        let model = try FeatureCacheFixtures.model()
        let split = FeatureCacheFixtures.inMemorySplit(count: 6)
        let warnings = WarningLog()
        var cache = FeatureCache(directory: folder.url)
        cache.warn = { warnings.append($0) }
        let first = try cache.extract(split: split, model: model)
        #expect(!first.wasCached)
        let manifest = try FeatureCacheManifest.read(folder: first.file.deletingLastPathComponent())
        #expect(manifest.featuresChecksum == FeatureFile.checksum(features: first.features, labels: first.labels.map(Float.init)))

        // Zero the first row's values in place; header and size stay valid.
        var bytes = [UInt8](try Data(contentsOf: first.file))
        let headerLength = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let info = try SafeTensorsFile(url: first.file).info("features")
        for index in (8 + headerLength + info.dataOffsets.lowerBound)..<(8 + headerLength + info.dataOffsets.lowerBound + 4 * first.dimension) {
            bytes[index] = 0
        }
        try Data(bytes).write(to: first.file)

        let second = try cache.extract(split: split, model: model)
        #expect(!second.wasCached)
        #expect(second.statistics.discardedFiles == ["features.safetensors"])
        #expect(second.features == first.features)
        #expect(warnings.messages.count == 1)
        #expect(warnings.messages.first?.contains("checksum mismatch") == true, "\(warnings.messages)")
        #expect(warnings.messages.first?.contains(first.file.path) == true, "\(warnings.messages)")
        let third = try cache.extract(split: split, model: model)
        #expect(third.wasCached)
    }

    @Test("Features with NaN are refused at write, and nothing is written")
    func nanFeaturesRefused() throws {
        let folder = try TemporaryFolder()
        let url = folder.url.appendingPathComponent("features.safetensors")
        let header = FeatureFile.Header(kind: .final, keyHash: "k", firstIndex: 0, count: 2, totalCount: 2, dimension: 2)
        #expect(throws: FeatureCacheError.nonFiniteFeatures(path: url.path, row: 1)) {
            try FeatureFile.write(features: [0.6, 0.8, .nan, 1], labels: [0, 1], metadata: [:], header: header, to: url)
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    // MARK: Run folders

    @Test("Run folders published with one timestamp get distinct names; stale staging of dead processes is removed")
    func runFolders() throws {
        let folder = try TemporaryFolder()
        var published: [String] = []
        for index in 0..<3 {
            let staging = folder.url.appendingPathComponent(RunFolder.stagingName())
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: false)
            try Data("\(index)".utf8).write(to: staging.appendingPathComponent("metrics.json"))
            let final = try RunFolder.publish(staging, in: folder.url, stamp: "20260101-000000")
            published.append(final.lastPathComponent)
            #expect(try String(contentsOf: final.appendingPathComponent("metrics.json"), encoding: .utf8) == "\(index)")
            #expect(!FileManager.default.fileExists(atPath: staging.path))
        }
        #expect(published == ["20260101-000000", "20260101-000000-2", "20260101-000000-3"])

        // A staging folder of a process that has ended, one of this process, one of another machine.
        let deadPID = try Self.endedProcessID()
        let dead = folder.url.appendingPathComponent(".run-\(deadPID)-1@\(RunFolder.hostName).partial")
        let live = folder.url.appendingPathComponent(RunFolder.stagingName())
        let elsewhere = folder.url.appendingPathComponent(".run-\(deadPID)-2@another-machine.partial")
        let old = folder.url.appendingPathComponent(".run-\(deadPID)-3@another-machine.partial")
        for url in [dead, live, elsewhere, old] { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false) }
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-2 * 86_400)], ofItemAtPath: old.path)
        RunFolder.removeStaleStaging(in: folder.url)
        #expect(!FileManager.default.fileExists(atPath: dead.path))
        #expect(FileManager.default.fileExists(atPath: live.path))
        #expect(FileManager.default.fileExists(atPath: elsewhere.path))
        #expect(!FileManager.default.fileExists(atPath: old.path))
        #expect(RunFolder.owner(ofStaging: ".run-123-9@node-7.cluster.partial")?.pid == 123)
        #expect(RunFolder.owner(ofStaging: ".run-123-9@node-7.cluster.partial")?.host == "node-7.cluster")
        #expect(RunFolder.owner(ofStaging: ".20260101-000000.partial") == nil)
    }

    @Test("A second holder of a cache lock is told it waits, and gets the lock once the first releases it")
    func lockWaits() throws {
        let folder = try TemporaryFolder()
        let url = folder.url.appendingPathComponent(".extract.lock")
        let first = try FileLock(url: url)
        let waiting = DispatchSemaphore(value: 0), acquired = DispatchSemaphore(value: 0)
        let log = WarningLog()
        Thread.detachNewThread {
            do {
                let second = try FileLock(url: url) {
                    log.append("waiting")
                    waiting.signal()
                }
                log.append("acquired")
                second.release()
            } catch {
                log.append("error \(error)")
            }
            acquired.signal()
        }
        waiting.wait()  // the second holder found the lock taken (never signalled otherwise)
        #expect(log.messages == ["waiting"])
        first.release()
        acquired.wait()
        #expect(log.messages == ["waiting", "acquired"])
        // Free again: a third holder does not wait.
        let third = try FileLock(url: url) { Issue.record("the released lock is still held") }
        third.release()
    }

    /// The PID of a child process that has exited (and been reaped).
    static func endedProcessID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    // MARK: Adapter files

    @Test("Adapter files with NaN or out-of-range head parameters are refused naming the tensor", arguments: [
        ("alpha", Float.nan, "alpha"), ("beta", Float.infinity, "beta"), ("logit_scale", -100, "logit_scale"), ("keys", Float.nan, "keys"),
    ])
    func badAdapter(tensor: String, value: Float, named: String) throws {
        let folder = try TemporaryFolder()
        let url = folder.url.appendingPathComponent("adapter.safetensors")
        var tensors: [(name: String, shape: [Int], values: [Float])] = [
            ("text_classifier", [2, 2], [1, 0, 0, 1]), ("keys", [2, 2], [1, 0, 0, 1]), ("key_classes", [2], [0, 1]),
            ("alpha", [1], [1]), ("beta", [1], [1]), ("logit_scale", [1], [100]),
        ]
        let good = folder.url.appendingPathComponent("good.safetensors")
        try SafeTensorsWriter.write(tensors, metadata: ["class_names": "[\"a\",\"b\"]", "prototype_kind": "mean"], to: good)
        #expect(try AdapterFile.read(good).classNames == ["a", "b"])
        let index = try #require(tensors.firstIndex { $0.name == tensor })
        tensors[index].values[0] = value
        try SafeTensorsWriter.write(tensors, metadata: ["class_names": "[\"a\",\"b\"]", "prototype_kind": "mean"], to: url)
        let text = Self.message { _ = try AdapterFile.read(url) }
        #expect(text.contains(url.path), "\(text)")
        #expect(text.contains("'\(named)'"), "\(text)")
    }

    // MARK: Error translation

    @Test("Foundation and JSON errors become sentences naming the file and key")
    func readableErrors() throws {
        let missing = "/nonexistent-folder-\(UUID().uuidString)/file.json"
        do {
            _ = try Data(contentsOf: URL(fileURLWithPath: missing))
            Issue.record("expected an error")
        } catch {
            let text = ReadableError.describe(error)
            #expect(text == "\(missing): no such file or folder", "\(text)")
        }
        let folder = try TemporaryFolder()
        do {
            _ = try Data(contentsOf: folder.url)
            Issue.record("expected an error")
        } catch {
            #expect(ReadableError.reason(error) == "it is a folder, not a file", "\(ReadableError.describe(error))")
        }
        struct Record: Decodable { let count: Int }
        do {
            _ = try JSONDecoder().decode(Record.self, from: Data("{\"count\": \"many\"}".utf8))
            Issue.record("expected an error")
        } catch {
            let text = ReadableError.describe(error, file: "x.json")
            #expect(text.hasPrefix("x.json: key 'count' must be an integer"), "\(text)")
            #expect(!text.contains("DecodingError"), "\(text)")
        }
        do {
            _ = try JSONEncoder().encode(["loss": Float.nan])
            Issue.record("expected an error")
        } catch {
            let text = ReadableError.describe(error)
            #expect(text.contains("JSON holds only finite numbers"), "\(text)")
            #expect(text.contains("'loss'"), "\(text)")
        }
    }
}

/// Warnings collected from several threads.
final class WarningLog: @unchecked Sendable {
    // @unchecked: `messages` is only touched under `lock`.
    private let lock = NSLock()
    private var stored: [String] = []

    func append(_ message: String) { lock.withLock { stored.append(message) } }
    var messages: [String] { lock.withLock { stored } }
}
