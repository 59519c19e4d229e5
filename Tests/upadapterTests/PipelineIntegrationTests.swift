import Adaptation
import CLIPEncoder
import Compute
import CZlib
import Experiments
import Foundation
import Reports
import TestSupport
import Testing

/// `upadapter run` and `upadapter extract` end to end, as a user runs them: the built binary on a
/// generated PNG image-folder dataset and the tiny random fixture model, on every backend.
@Suite("Pipeline end to end", .serialized)
struct PipelineIntegrationTests {
    static let repository = Fixtures.repository
    static let fixtureModel = Fixtures.model

    /// The `upadapter` executable next to the test binary (`swift build --build-tests` builds both).
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("upadapter")
    }

    static func devices() throws -> [String] {
        var devices = ["cpu"]
        if try OpenCLTesting.deviceIsPresent(skipping: "the OpenCL pipeline run") {
            devices.append("opencl")
        }
        return devices
    }

    @Test("run writes a complete, consistent run directory on every backend, and a rerun hits the cache")
    func runEndToEnd() throws {
        let root = try TemporaryFolder.create("pipeline")
        defer { try? FileManager.default.removeItem(at: root) }
        let classes = ["red_square", "green_square", "blue_square"], perClass = 8
        try Self.writeColorDataset(root: root.appendingPathComponent("data"), classes: classes, perClass: perClass)
        let topK = 3
        let config = root.appendingPathComponent("tiny.yaml")
        try """
            base: \(Self.repository.appendingPathComponent("Configs/base.yaml").path)
            model:
              path: \(Self.fixtureModel.path)
            dataset:
              kind: folder
              name: Colors
              root: data
            prompts:
              templates: ["a photo of a {}.", "a {}."]
            selection:
              top_k: \(topK)
            prototypes:
              augment_views: 2
            model_selection:
              top_k_grid: [4]
              pool_share_grid: [0.5]
              alpha_grid: [1, 3]
              beta_grid: [1, 5]
              holdout_fraction: 0.34
              scoring_sample: 16
              neighbourhood_sample: 8
            self_training:
              rounds: 2
            training:
              epochs: 3
            baselines:
              supervised_shots: [1, 2]
            cache_dir: cache
            runs_dir: runs
            """.write(to: config, atomically: true, encoding: .utf8)

        for device in try Self.devices() {
            let first = try Self.run(["run", "--config", config.path, "--device", device, "--quiet"])
            #expect(first.status == 0, "\(device): \(first.output)")
            #expect(first.output.contains("UP-Adapter"), "\(device): \(first.output)")
            let runs = try Self.runDirectories(root.appendingPathComponent("runs/tiny"))
            let directory = try #require(runs.last)
            for file in ["config.yaml", "run.json", "metrics.json", "report.md", "report.html", "adapter.safetensors"] {
                #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path), "\(device): \(file) missing")
            }
            let report = try RunReport.load(metricsFile: directory.appendingPathComponent("metrics.json"))
            #expect(report.summary.deviceName.hasPrefix(device))
            #expect(report.summary.unlabeledCount == classes.count * perClass)
            #expect(report.summary.testCount == classes.count * perClass)
            #expect(report.summary.notes.contains {
                $0.hasPrefix("preprocessing: pipeline transformers-pil, center crop rounding transformers, JPEG decoding full (resize")
            })
            let record = try JSONDecoder().decode(
                [String: String].self, from: Data(contentsOf: directory.appendingPathComponent("run.json")))
            #expect(record["crop_rounding"] == "pipeline")
            #expect(record["preprocessing"] == "auto")
            #expect(record["preprocessing_used"] == "transformers-pil")
            #expect(record["jpeg_decoding"] == "full")
            let modelSelection = try #require(report.modelSelection)
            #expect(modelSelection.usedTestLabels == false)
            #expect(modelSelection.candidates.count == 2 * 2 * 2, "2 selection rules × 2 α × 2 β")
            #expect(Set(modelSelection.choices.keys) == Set(LabelFreeCriterion.allCases.map(\.rawValue)))
            let primary = try #require(report.upAdapter)
            #expect(primary.name == "UP-Adapter, prior-aware transport proxies")
            let selfTraining = try #require(report.methods.first { $0.name == "UP-Adapter + self-training (2 rounds, share 0.5)" })
            #expect(selfTraining.rounds?.count == 2)
            #expect(report.methods.count == 3 + 4 + 1 + 2 * 2 + 6,
                    "zero-shot, paper, 4 criterion rows, self-training, Tip-Adapter, 2 supervised per shot count, the transport proxies, InMaP, and TransCLIP and ZLaP in two modes each")
            let marginal = try #require(report.classMarginal)
            #expect(abs(marginal.estimatedShares.reduce(0, +) - 1) < 1e-9 && marginal.estimatedShares.count == classes.count)
            for method in report.methods {
                #expect((0...1).contains(method.top1Accuracy), "\(method.name)")
                let total = method.confusionMatrix.reduce(0) { $0 + $1.reduce(0, +) }
                let correct = method.confusionMatrix.indices.reduce(0) { $0 + method.confusionMatrix[$1][$1] }
                #expect(total == report.summary.testCount, "\(method.name): confusion counts add up to the test split")
                #expect(abs(Double(correct) / Double(total) - method.top1Accuracy) < 1e-9, "\(method.name)")
            }
            let selection = try #require(report.selection)
            #expect(selection.selectedPerClass.reduce(0, +) == selection.selectedCount)
            #expect(selection.selectedPerClass.allSatisfy { $0 <= topK })
            #expect(selection.selectedConfidences.count == selection.selectedCount)
            #expect(selection.rejectedConfidences.count == report.summary.unlabeledCount - selection.selectedCount)

            // The adapter file predicts with the same classes.
            let image = root.appendingPathComponent("data/test/green_square/000.png")
            let prediction = try Self.run(["predict", "--adapter", directory.appendingPathComponent("adapter.safetensors").path,
                                           "--model", Self.fixtureModel.path, "--device", device, image.path])
            #expect(prediction.status == 0 && prediction.output.contains("green square"), "\(prediction.output)")
        }

        // A rerun reuses the cached features: no feature file is rewritten.
        let cache = root.appendingPathComponent("cache")
        let before = try Self.featureFileDates(in: cache)
        #expect(before.count >= 4, "one feature file per split, and one per augmented view of each selection: \(before)")
        let rerun = try Self.run(["run", "--config", config.path, "--device", "cpu"])
        #expect(rerun.status == 0, "\(rerun.output)")
        #expect(try Self.featureFileDates(in: cache) == before, "the rerun rewrote cached features")
    }

    @Test("an extraction killed with SIGKILL resumes from its chunks and gives the uninterrupted result")
    func killedExtractionResumes() throws {
        let root = try TemporaryFolder.create("resume")
        defer { try? FileManager.default.removeItem(at: root) }
        let count = 3000
        try Self.writeIDX(root: root.appendingPathComponent("data"), count: count)
        func config(_ name: String, cache: String) throws -> URL {
            let url = root.appendingPathComponent(name)
            try """
                base: \(Self.repository.appendingPathComponent("Configs/base.yaml").path)
                model:
                  path: \(Self.fixtureModel.path)
                dataset:
                  kind: idx
                  name: Noise
                  root: data
                  class_names: [a, b, c]
                extraction: {batch_size: 8, chunk_size: 16}
                cache_dir: \(cache)
                """.write(to: url, atomically: true, encoding: .utf8)
            return url
        }
        let interrupted = try config("interrupted.yaml", cache: "cache-interrupted")
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["extract", "--config", interrupted.path, "--split", "train", "--device", "cpu", "--quiet"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it as soon as two chunks are on disk (polling; the whole extraction takes seconds).
        let cache = root.appendingPathComponent("cache-interrupted")
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline, try Self.chunkFiles(in: cache).count < 2 { usleep(2_000) }
        let killedMidway = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(killedMidway, "the extraction finished before it could be killed; the resume path was not exercised")
        let chunksLeft = try Self.chunkFiles(in: cache).count
        #expect(chunksLeft >= 2, "complete chunks survive the kill")
        #expect(try Self.featureFiles(in: cache).isEmpty, "no final feature file after a kill")

        let resumed = try Self.run(["extract", "--config", interrupted.path, "--split", "train", "--device", "cpu", "--quiet"])
        #expect(resumed.status == 0, "\(resumed.output)")
        let fresh = try Self.run(["extract", "--config", try config("fresh.yaml", cache: "cache-fresh").path, "--split", "train",
                                  "--device", "cpu", "--quiet"])
        #expect(fresh.status == 0, "\(fresh.output)")
        let resumedFile = try #require(try Self.featureFiles(in: cache).first)
        let freshFile = try #require(try Self.featureFiles(in: root.appendingPathComponent("cache-fresh")).first)
        let resumedFeatures = try SafeTensorsFile(url: resumedFile).floats("features")
        let freshFeatures = try SafeTensorsFile(url: freshFile).floats("features")
        #expect(resumedFeatures.count == count * 24)
        #expect(resumedFeatures == freshFeatures, "resumed extraction differs from an uninterrupted one")
    }

    @Test("--help of the tool, a command group and a command prints usage and exits 0",
          arguments: [["--help"], ["bench"], ["bench", "encoder", "--help"], ["kernels", "--help"], ["run", "--help"]])
    func helpText(arguments: [String]) throws {
        let result = try Self.run(arguments)
        #expect(result.status == 0, "\(arguments): \(result.output)")
        #expect(result.output.contains("USAGE:"), "\(arguments): \(result.output)")
        #expect(!result.output.contains("CommandError"), "\(arguments): \(result.output)")
    }

    // MARK: Helpers

    /// Runs `upadapter arguments` (or `executable arguments`); a signal is reported as a
    /// negative status.
    static func run(_ arguments: [String], executable: URL? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable ?? binary
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let signalled = process.terminationReason == .uncaughtSignal
        return (signalled ? -process.terminationStatus : process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Writes a run configuration at `url` over the fixture model and the colour dataset in
    /// `data` beside it (`writeColorDataset`), followed by `settings` (YAML lines).
    static func writeColorConfig(_ url: URL, _ settings: String) throws {
        try ("""
            base: \(repository.appendingPathComponent("Configs/base.yaml").path)
            model: {path: \(fixtureModel.path)}
            dataset: {kind: folder, name: Colors, root: data}
            prompts: {templates: ["a photo of a {}."]}

            """ + settings).write(to: url, atomically: true, encoding: .utf8)
    }

    static func runDirectories(_ folder: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }

    /// Final feature files under `cache`, with their modification dates.
    static func featureFiles(in cache: URL) throws -> [URL] {
        try files(in: cache).filter { $0.lastPathComponent == "features.safetensors" }
    }

    static func featureFileDates(in cache: URL) throws -> [String: Date] {
        var result: [String: Date] = [:]
        for file in try featureFiles(in: cache) {
            result[file.path] = try FileManager.default.attributesOfItem(atPath: file.path)[.modificationDate] as? Date
        }
        return result
    }

    static func chunkFiles(in cache: URL) throws -> [URL] {
        try files(in: cache).filter { $0.deletingLastPathComponent().lastPathComponent == "chunks" && $0.pathExtension == "safetensors" }
    }

    static func files(in folder: URL) throws -> [URL] {
        guard let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return [] }
        return enumerator.compactMap { $0 as? URL }
    }

    /// `root/{train,test}/<class>/NNN.png`: noisy images of one dominant colour per class.
    static func writeColorDataset(root: URL, classes: [String], perClass: Int) throws {
        var generator = SeededGenerator(seed: 3)
        let colors: [[UInt8]] = [[200, 40, 40], [40, 200, 40], [40, 40, 200]]
        for split in ["train", "test"] {
            for (label, name) in classes.enumerated() {
                let folder = root.appendingPathComponent("\(split)/\(name)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for index in 0..<perClass {
                    let (width, height) = (20 + index % 5, 24)
                    let pixels = (0..<(width * height * 3)).map { position -> UInt8 in
                        let base = Double(colors[label % colors.count][position % 3])
                        return UInt8(max(0, min(255, base + Double(Float.random(in: -50...50, using: &generator)))))
                    }
                    try png(width: width, height: height, rgb: pixels).write(to: folder.appendingPathComponent(String(format: "%03d.png", index)))
                }
            }
        }
    }

    /// An 8-bit RGB PNG (filter 0 on every row, zlib-compressed).
    static func png(width: Int, height: Int, rgb: [UInt8]) throws -> Data {
        var raw = [UInt8]()
        for row in 0..<height {
            raw.append(0)
            raw += rgb[(row * width * 3)..<((row + 1) * width * 3)]
        }
        var compressedLength = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedLength))
        guard compress(&compressed, &compressedLength, raw, uLong(raw.count)) == Z_OK else {
            throw ComputeError.invalidArgument(operation: "png", message: "zlib compress failed")
        }
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            let crc = UInt32(crc32(0, typed, uInt(typed.count)))
            return bigEndian(UInt32(body.count)) + typed + bigEndian(crc)
        }
        func bigEndian(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 255), UInt8(value >> 8 & 255), UInt8(value & 255)] }
        let header = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0]
        let bytes: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10] + chunk("IHDR", header)
            + chunk("IDAT", Array(compressed.prefix(Int(compressedLength)))) + chunk("IEND", [])
        return Data(bytes)
    }

    /// Standard MNIST-named IDX files (uncompressed) with `count` random 28×28 images per split.
    static func writeIDX(root: URL, count: Int) throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var generator = SeededGenerator(seed: 9)
        func header(_ magic: UInt32, _ dimensions: [UInt32]) -> [UInt8] {
            ([magic] + dimensions).flatMap { [UInt8($0 >> 24), UInt8($0 >> 16 & 255), UInt8($0 >> 8 & 255), UInt8($0 & 255)] }
        }
        for (images, labels) in [("train-images-idx3-ubyte", "train-labels-idx1-ubyte"), ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")] {
            let pixels = (0..<(count * 784)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try Data(header(0x803, [UInt32(count), 28, 28]) + pixels).write(to: root.appendingPathComponent(images))
            try Data(header(0x801, [UInt32(count)]) + (0..<count).map { UInt8($0 % 3) }).write(to: root.appendingPathComponent(labels))
        }
    }
}
