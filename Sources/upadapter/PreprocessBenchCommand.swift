import ArgumentParser
import CLIPEncoder
import Dispatch
import Foundation
import Support

extension BenchCommand {
    /// `upadapter bench preprocess`: decoding + CLIP preprocessing throughput on a folder of
    /// images, the stage that bounds feature extraction once the encoder is fast.
    struct PreprocessBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "preprocess",
            abstract: "Images/s of decoding + CLIP preprocessing (read, decode, resize, crop, normalise) on one thread and on all.",
            discussion: """
                Every image of the folder (PNG or JPEG, not recursive) is read from disk, decoded and \
                preprocessed into the normalised [3, crop, crop] floats the vision tower reads, as \
                `extract` does. The median of --repeats passes is reported, after one warm-up pass. \
                scripts/bench_preprocess_vs_pil.py times PIL + torchvision's CLIP transform on the same \
                files and runs this command beside it; with --pipelines it times each named pipeline \
                (--preprocessing) against its upstream on one thread. --jpeg-decoding draft decodes JPEGs reduced in \
                the inverse DCT (as Pillow's Image.draft), the opt-in fast mode for large photos; the \
                decoding-alone figure then decodes the same way.
                """)

        @Option(help: "Folder of images.") var folder: String
        @Option(help: "Shorter side after resizing.") var size: Int = 224
        @Option(help: "Side of the center crop.") var crop: Int = 224
        @Option(help: "Preprocessing pipeline: openai, transformers-pil or transformers.")
        var preprocessing: String = PreprocessingPipeline.openai.rawValue
        @Option(help: "Center crop rounding replacing the pipeline's: openai, transformers or transformers-torchvision.")
        var cropRounding: String?
        @Option(help: "JPEG decoding: full (pixels equal the references') or draft (reduced by 2, 4 or 8 while decoding).")
        var jpegDecoding: String = JPEGDecoding.full.rawValue
        @Option(help: "Timed passes over the folder; the median is reported.") var repeats: Int = 3
        @Option(help: "Threads of the parallel figure (default: every core).") var threads: Int?
        @Flag(help: "Print one JSON object.") var json = false

        func validate() throws {
            try requireOption("--size", size, in: 1...PreprocessorConfiguration.maximumSize)
            try requireOption("--crop", crop, in: 1...PreprocessorConfiguration.maximumSize)
            try requireOption("--repeats", repeats, in: 1...1000)
            if let threads { try requireOption("--threads", threads, in: 1...4096) }
            do { _ = try PreprocessingPipeline(name: preprocessing) } catch { throw ValidationError("--preprocessing: \(error)") }
            if let cropRounding, CenterCropRounding(rawValue: cropRounding) == nil {
                throw ValidationError("--crop-rounding must be one of "
                                      + CenterCropRounding.allCases.map(\.rawValue).joined(separator: ", "))
            }
            guard JPEGDecoding(rawValue: jpegDecoding) != nil else {
                throw ValidationError("--jpeg-decoding must be one of " + JPEGDecoding.allCases.map(\.rawValue).joined(separator: ", "))
            }
        }

        func run() throws {
            let files = try Self.imageFiles(in: URL(fileURLWithPath: (folder as NSString).expandingTildeInPath))
            var configuration = PreprocessorConfiguration(shortestEdge: size, cropSize: crop)
            configuration.pipeline = PreprocessingPipeline(rawValue: preprocessing) ?? .openai
            configuration.cropRounding = cropRounding.flatMap(CenterCropRounding.init(rawValue:))
            configuration.jpegDecoding = JPEGDecoding(rawValue: jpegDecoding) ?? .full
            let preprocessor = ImagePreprocessor(configuration: configuration)
            let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount

            // A first pass checks every file and warms the page cache and the allocator.
            for file in files { _ = try preprocessor.preprocess(file: file) }
            let oneThread = try Self.medianSeconds(repeats: repeats) {
                for file in files { _ = try preprocessor.preprocess(file: file) }
            }
            let decodeOnly = try Self.medianSeconds(repeats: repeats) {
                for file in files { _ = try ImageDecoder.decode(file: file, draftSide: configuration.draftSide) }
            }
            let allThreads = try Self.medianSeconds(repeats: repeats) {
                try Self.parallel(files, threads: threadCount) { _ = try preprocessor.preprocess(file: $0) }
            }
            let report = PreprocessBenchReport(
                folder: folder, images: files.count, size: size, crop: crop, preprocessing: configuration.pipeline.rawValue,
                cropRounding: configuration.effectiveCropRounding.rawValue,
                jpegDecoding: configuration.jpegDecoding.rawValue,
                imagesPerSecondOneThread: Double(files.count) / oneThread,
                imagesPerSecondDecodingOnly: Double(files.count) / decodeOnly, threads: threadCount,
                imagesPerSecondAllThreads: Double(files.count) / allThreads)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                encoder.keyEncodingStrategy = .convertToSnakeCase
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
                return
            }
            print("preprocessing benchmark: \(files.count) images of \(folder), resize \(size), crop \(crop) (\(preprocessing), crop rounding \(configuration.effectiveCropRounding.rawValue), JPEG decoding \(jpegDecoding))")
            print(String(format: "one thread:   %.1f images/s (reading and decoding alone: %.1f images/s)",
                         report.imagesPerSecondOneThread, report.imagesPerSecondDecodingOnly))
            print(String(format: "%d threads:%@ %.1f images/s", threadCount, threadCount < 10 ? "  " : " ", report.imagesPerSecondAllThreads))
        }

        /// The PNG and JPEG files directly in `folder`, sorted by name.
        /// - Throws: `ValidationError` when the folder cannot be listed or holds no image.
        static func imageFiles(in folder: URL) throws -> [URL] {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            } catch {
                throw ValidationError("cannot list \(folder.path): \(ReadableError.reason(error))")
            }
            let extensions: Set<String> = ["jpg", "jpeg", "png"]
            let files = names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
                .map { folder.appendingPathComponent($0) }
            guard !files.isEmpty else { throw ValidationError("\(folder.path) holds no .jpg, .jpeg or .png file") }
            return files
        }

        /// Median wall-clock seconds of `repeats` runs of `body`.
        static func medianSeconds(repeats: Int, _ body: () throws -> Void) throws -> Double {
            var seconds: [Double] = []
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return seconds.sorted()[seconds.count / 2]
        }

        /// Runs `body` on every file with `threads` workers taking files in turn; rethrows the
        /// first error.
        static func parallel(_ files: [URL], threads: Int, _ body: @escaping @Sendable (URL) throws -> Void) throws {
            let next = AtomicCounter()
            let failure = FirstError()
            DispatchQueue.concurrentPerform(iterations: min(threads, files.count)) { _ in
                while true {
                    let index = next.increment()
                    guard index < files.count, !failure.isSet else { return }
                    do { try body(files[index]) } catch { failure.record(error) }
                }
            }
            if let error = failure.error { throw error }
        }
    }
}

/// The figures of `bench preprocess --json`.
struct PreprocessBenchReport: Codable {
    let folder: String
    let images: Int
    let size: Int
    let crop: Int
    let preprocessing: String
    let cropRounding: String
    let jpegDecoding: String
    let imagesPerSecondOneThread: Double
    /// Reading and decoding alone, one thread: the part preprocessing cannot speed up.
    let imagesPerSecondDecodingOnly: Double
    let threads: Int
    let imagesPerSecondAllThreads: Double
}

/// A counter shared by worker threads.
private final class AtomicCounter: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = 0

    /// The current value, then adds one.
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value - 1
    }
}

/// The first error reported by worker threads.
private final class FirstError: @unchecked Sendable {
    // @unchecked: `stored` is only touched under `lock`.
    private let lock = NSLock()
    private var stored: Error?

    var isSet: Bool { error != nil }

    var error: Error? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func record(_ error: Error) {
        lock.lock()
        defer { lock.unlock() }
        if stored == nil { stored = error }
    }
}
