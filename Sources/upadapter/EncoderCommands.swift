import ArgumentParser
import CLIPEncoder
import Compute
import Experiments
import Foundation

/// Options shared by the commands that load a CLIP model directory.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "CLIP model folder: Hugging Face (config.json, model.safetensors) or open_clip (open_clip_config.json, open_clip_model.safetensors).")
    var model: String

    @OptionGroup var deviceOptions: DeviceOptions

    func load() throws -> CLIPModel {
        let backend = try deviceOptions.makeBackend()
        return try CLIPModel(directory: URL(fileURLWithPath: (model as NSString).expandingTildeInPath), backend: backend)
    }
}

/// `--preprocessing NAME`, shared by the commands that encode image files.
struct PreprocessingOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Preprocessing pipeline: openai (OpenAI CLIP, open_clip), transformers-pil (CLIPImageProcessorPil) or transformers (transformers 5's default CLIPImageProcessor).",
        discussion: "Default: openai for open_clip folders, transformers-pil for Hugging Face folders."))
    var preprocessing: String?

    func validate() throws {
        if let preprocessing {
            do { _ = try PreprocessingPipeline(name: preprocessing) } catch { throw ValidationError("--preprocessing: \(error)") }
        }
    }

    /// The pipeline asked for, or nil for the checkpoint format's default.
    var pipeline: PreprocessingPipeline? { preprocessing.flatMap(PreprocessingPipeline.init(rawValue:)) }
}

/// Preprocesses `files` with `pipeline` (the model's default when nil) and encodes them in
/// batches of `batchSize`.
func encodeImageFiles(_ files: [URL], model: CLIPModel, batchSize: Int, pipeline: PreprocessingPipeline? = nil) throws -> [Float] {
    var configuration = model.preprocessorConfiguration
    if let pipeline { configuration.pipeline = pipeline }
    let preprocessor = ImagePreprocessor(configuration: configuration)
    var embeddings: [Float] = []
    for start in stride(from: 0, to: files.count, by: batchSize) {
        let batch = Array(files[start..<min(start + batchSize, files.count)])
        embeddings += try model.encodeImages(pixels: try preprocessor.preprocess(files: batch), normalize: true)
    }
    return embeddings
}

/// Writes embeddings as JSON to standard output, or as safetensors to `output`.
func emitEmbeddings(_ embeddings: [Float], labels: [String], width: Int, output: String?, kind: String) throws {
    if let output {
        let url = URL(fileURLWithPath: output)
        try SafeTensorsWriter.write(
            [(name: "embeddings", shape: [labels.count, width], values: embeddings)],
            metadata: ["inputs": String(decoding: try JSONEncoder().encode(labels), as: UTF8.self), "kind": kind, "normalized": "true"],
            to: url)
        print("wrote \(labels.count) \(kind) embeddings of width \(width) to \(output)")
        return
    }
    struct Row: Encodable { let input: String; let embedding: [Float] }
    let rows = labels.enumerated().map { index, label in Row(input: label, embedding: Array(embeddings[index * width..<(index + 1) * width])) }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted]
    print(String(decoding: try encoder.encode(rows), as: UTF8.self))
}

struct EncodeImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode-image", abstract: "L2-normalised image embeddings, as JSON on stdout or a safetensors file.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var preprocessingOptions: PreprocessingOptions
    @Option(help: "Write a safetensors file (tensor `embeddings` [images, dim]) instead of JSON.") var output: String?
    @Option(help: "Images per encoder batch.") var batchSize: Int = 32
    @Argument(help: "PNG or JPEG files.") var images: [String]

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image file") }
        try requireOption("--batch-size", batchSize, in: 1...4096)
    }

    func run() throws {
        let model = try modelOptions.load()
        let embeddings = try encodeImageFiles(
            images.map { URL(fileURLWithPath: $0) }, model: model, batchSize: batchSize, pipeline: preprocessingOptions.pipeline)
        try emitEmbeddings(embeddings, labels: images, width: model.embeddingSize, output: output, kind: "image")
    }
}

struct EncodeTextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode-text", abstract: "L2-normalised text embeddings, as JSON on stdout or a safetensors file.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Write a safetensors file (tensor `embeddings` [texts, dim]) instead of JSON.") var output: String?
    @Flag(help: "Cut texts longer than the context length instead of failing.") var truncate = false
    @Argument(help: "Texts to encode.") var texts: [String]

    func validate() throws {
        guard !texts.isEmpty else { throw ValidationError("give at least one text") }
    }

    func run() throws {
        let model = try modelOptions.load()
        let embeddings = try model.encodeTexts(texts, truncate: truncate, normalize: true)
        try emitEmbeddings(embeddings, labels: texts, width: model.embeddingSize, output: output, kind: "text")
    }
}

struct ZeroShotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zero-shot",
        abstract: "Classify images among free-text labels: softmax(s · cos(image, text)) per image, s = the model's exp(logit_scale) (100 for OpenAI CLIP).")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var preprocessingOptions: PreprocessingOptions
    @Option(help: "Comma-separated labels, e.g. \"a dog,a cat,a diagram\".") var labels: String
    @Argument(help: "PNG or JPEG files.") var images: [String]

    func run() throws {
        let labelList = labels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard labelList.count >= 1 else { throw ValidationError("--labels needs at least one label") }
        guard !images.isEmpty else { throw ValidationError("give at least one image file") }
        let model = try modelOptions.load()
        let width = model.embeddingSize, scale = model.learnedLogitScale ?? ExperimentConfiguration.Adapter.fallbackLogitScale
        let textEmbeddings = try model.encodeTexts(labelList, normalize: true)
        let imageEmbeddings = try encodeImageFiles(
            images.map { URL(fileURLWithPath: $0) }, model: model, batchSize: 32, pipeline: preprocessingOptions.pipeline)
        let labelWidth = max(labelList.map(\.count).max() ?? 0, 5)
        for (index, image) in images.enumerated() {
            let embedding = imageEmbeddings[index * width..<(index + 1) * width]
            let logits = (0..<labelList.count).map { label in
                scale * zip(embedding, textEmbeddings[label * width..<(label + 1) * width]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            }
            let maximum = logits.max() ?? 0
            let exponentials = logits.map { exp($0 - maximum) }
            let total = exponentials.reduce(0, +)
            print(image)
            for (label, value) in zip(labelList, exponentials).sorted(by: { $0.1 > $1.1 }) {
                print("  " + pad(label, labelWidth) + String(format: "  %6.2f%%", 100 * value / total))
            }
        }
    }
}

struct CompareReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare-reference",
        abstract: "Compare this encoder with the reference embeddings in MODEL/reference.safetensors.",
        discussion: "The reference file is written by scripts/make_fixtures.py (also with --full-size for ViT-B/32 or B/16).")

    @OptionGroup var modelOptions: ModelOptions

    func run() throws {
        let model = try modelOptions.load()
        let file = try SafeTensorsFile(url: model.directory.appendingPathComponent("reference.safetensors"))
        let pixels = try file.floats("pixel_values")
        let idInfo = try file.info("input_ids")
        let bytes = try file.bytes("input_ids")
        let ids = (0..<idInfo.count).map { index in
            Int32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * 4, as: Int32.self) })
        }
        let tokens = stride(from: 0, to: ids.count, by: idInfo.shape[1]).map { Array(ids[$0..<$0 + idInfo.shape[1]]) }
        var failed = false
        let start = Date()
        let images = try model.encodeImages(pixels: pixels)
        let imageSeconds = Date().timeIntervalSince(start)
        let texts = try model.encodeTokens(tokens)
        for (name, actual, expected) in [("image", images, try file.floats("image_embeddings")), ("text", texts, try file.floats("text_embeddings"))] {
            let scale = expected.map(abs).max() ?? 1
            let comparison = Comparison(actual: actual, expected: expected, absoluteTolerance: 1e-3 * scale, relativeTolerance: 0)
            print("\(name) embeddings: max abs error \(comparison.maxAbsoluteError) (largest |reference| \(scale)), "
                  + "max error / largest |reference| \(comparison.maxAbsoluteError / scale): \(comparison.passed ? "pass" : "FAIL")")
            failed = failed || !comparison.passed
        }
        print(String(format: "%@: %d images in %.2f s", model.backend.name, pixels.count / (3 * model.configuration.vision.imageSize * model.configuration.vision.imageSize), imageSeconds))
        if failed { throw ExitCode(1) }
    }
}
