import Dispatch
import Foundation
import Support

/// Decoding + CLIP preprocessing throughput on a folder of images, the stage that bounds
/// feature extraction once the encoder is fast: the figures `upadapter bench preprocess`
/// prints. Every image is read from disk, decoded and preprocessed into the normalised
/// `[3, crop, crop]` floats the vision tower reads, on one thread and on several; each figure is
/// the median of the timed passes, after one warm-up pass that also checks every file.
public enum PreprocessingBenchmark {
    /// The figures of one run (`bench preprocess --json` prints them in snake case).
    public struct Report: Codable, Sendable {
        public let folder: String
        public let images: Int
        public let size: Int
        public let crop: Int
        public let preprocessing: String
        public let cropRounding: String
        public let jpegDecoding: String
        public let imagesPerSecondOneThread: Double
        /// Reading and decoding alone, one thread: the part preprocessing cannot speed up.
        public let imagesPerSecondDecodingOnly: Double
        public let threads: Int
        public let imagesPerSecondAllThreads: Double
    }

    /// Why a folder cannot be benchmarked.
    public enum FolderError: Error, CustomStringConvertible {
        /// The folder could not be listed.
        case unreadable(path: String, reason: String)
        /// The folder holds no PNG or JPEG file.
        case noImages(path: String)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): return "cannot list \(path): \(reason)"
            case .noImages(let path): return "\(path) holds no .jpg, .jpeg or .png file"
            }
        }
    }

    /// The PNG and JPEG files directly in `folder`, sorted by name.
    /// - Throws: `FolderError` when the folder cannot be listed or holds no image.
    public static func imageFiles(in folder: URL) throws -> [URL] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw FolderError.unreadable(path: folder.path, reason: ReadableError.reason(error))
        }
        let extensions: Set<String> = ["jpg", "jpeg", "png"]
        let files = names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
            .map { folder.appendingPathComponent($0) }
        guard !files.isEmpty else { throw FolderError.noImages(path: folder.path) }
        return files
    }

    /// Times preprocessing of `files` with `configuration`: one thread, decoding alone, and
    /// `threads` workers, each the median of `repeats` passes after a warm-up pass.
    /// - Parameter folder: the folder's name as the report gives it.
    /// - Throws: the first error of decoding or preprocessing a file.
    public static func run(files: [URL], folder: String, configuration: PreprocessorConfiguration, repeats: Int,
                           threads: Int) throws -> Report {
        let preprocessor = ImagePreprocessor(configuration: configuration)
        // A first pass checks every file and warms the page cache and the allocator.
        for file in files { _ = try preprocessor.preprocess(file: file) }
        let oneThread = try medianSeconds(repeats: repeats) {
            for file in files { _ = try preprocessor.preprocess(file: file) }
        }
        let decodeOnly = try medianSeconds(repeats: repeats) {
            for file in files { _ = try ImageDecoder.decode(file: file, draftSide: configuration.draftSide) }
        }
        let allThreads = try medianSeconds(repeats: repeats) {
            try parallel(files, threads: threads) { _ = try preprocessor.preprocess(file: $0) }
        }
        return Report(
            folder: folder, images: files.count, size: configuration.shortestEdge, crop: configuration.cropSize,
            preprocessing: configuration.pipeline.rawValue, cropRounding: configuration.effectiveCropRounding.rawValue,
            jpegDecoding: configuration.jpegDecoding.rawValue,
            imagesPerSecondOneThread: Double(files.count) / oneThread,
            imagesPerSecondDecodingOnly: Double(files.count) / decodeOnly, threads: threads,
            imagesPerSecondAllThreads: Double(files.count) / allThreads)
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
