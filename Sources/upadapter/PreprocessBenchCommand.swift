import ArgumentParser
import CLIPEncoder
import Foundation
import Support

extension BenchCommand {
    /// `upadapter bench preprocess`: decoding + CLIP preprocessing throughput on a folder of
    /// images (`PreprocessingBenchmark` measures; this command parses and prints).
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
            let files: [URL]
            do {
                files = try PreprocessingBenchmark.imageFiles(in: URL(fileURLWithPath: (folder as NSString).expandingTildeInPath))
            } catch let error as PreprocessingBenchmark.FolderError {
                throw ValidationError(error.description)
            }
            var configuration = PreprocessorConfiguration(shortestEdge: size, cropSize: crop)
            configuration.pipeline = PreprocessingPipeline(rawValue: preprocessing) ?? .openai
            configuration.cropRounding = cropRounding.flatMap(CenterCropRounding.init(rawValue:))
            configuration.jpegDecoding = JPEGDecoding(rawValue: jpegDecoding) ?? .full
            let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
            let report = try PreprocessingBenchmark.run(
                files: files, folder: folder, configuration: configuration, repeats: repeats, threads: threadCount)
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
    }
}
