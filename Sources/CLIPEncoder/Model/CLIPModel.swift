import Compute
import FileIntegrity
import Foundation

/// A CLIP model loaded from a model folder, with both towers' weights on one backend. Two folder
/// formats load, detected from their files:
///
/// - Hugging Face `CLIPModel`: `config.json`, `model.safetensors`, optionally
///   `preprocessor_config.json`, `vocab.json` + `merges.txt` (vision transformers only);
/// - open_clip: `open_clip_config.json` (`model_cfg`, optionally `preprocess_cfg`) and
///   `open_clip_model.safetensors` with OpenAI's parameter names: ViT and ModifiedResNet (RN50, …)
///   image towers.
///
/// Without tokenizer files in the folder, OpenAI's BPE vocabulary shipped with the tool is used
/// (open_clip's default for OpenAI's models).
///
/// Embeddings are returned as the upstream `get_image_features` / `get_text_features` give them
/// (not normalised); `normalize: true` L2-normalises each row. One model may be shared by
/// several tasks: calls are serialised, since the towers reuse their scratch buffers.
public final class CLIPModel: @unchecked Sendable {
    // @unchecked: the towers' mutable scratch buffers are only touched under `lock`.

    /// The model directory.
    public let directory: URL
    public let configuration: CLIPConfiguration
    public let preprocessorConfiguration: PreprocessorConfiguration
    public let backend: any Backend
    /// The tokenizer from `vocab.json` + `merges.txt`, or OpenAI's `bpe_simple_vocab_16e6.txt.gz`
    /// (the folder's, else the copy shipped with the tool).
    public let tokenizer: CLIPTokenizer
    /// The checkpoint's learned logit scale `exp(logit_scale)` (100 for OpenAI's CLIP), if stored.
    public let learnedLogitScale: Float?
    /// A digest of the configuration and weights files: the model's identity in cache keys.
    public let digest: String
    /// The image tower: a vision transformer or a ModifiedResNet.
    private let vision: any ImageTower
    private let text: TextTower
    private let lock = NSLock()

    /// Loads the model in `directory` onto `backend`.
    /// - Throws: `CLIPEncoderError` naming the missing file, the malformed configuration key, or the
    ///   tensor that is missing or mis-shaped.
    public init(directory: URL, backend: any Backend) throws {
        self.directory = directory
        self.backend = backend
        let folder = try ModelFolder(directory: directory)
        let format: CheckpointFormat
        switch folder.format {
        case .huggingFace:
            format = .huggingFace
            configuration = try CLIPConfiguration(contentsOf: folder.configurationFile)
            // Hugging Face folders: the pipeline their weights were published with (transformers-pil).
            var preprocessing = try ModelFolderConsistency.preprocessing(
                folder: directory, vision: configuration.vision, notice: Self.notice)
            preprocessing.pipeline = .transformersPil
            preprocessorConfiguration = preprocessing
        case .openCLIP:
            let openCLIP = try OpenCLIPConfiguration(contentsOf: folder.configurationFile)
            format = .openCLIP(textPrefix: openCLIP.textPrefix)
            configuration = openCLIP.model
            preprocessorConfiguration = openCLIP.preprocessor
        }
        let (tokenizer, tokenizerFiles) = try Self.loadTokenizer(directory: directory)
        self.tokenizer = tokenizer
        guard tokenizer.vocabularySize <= configuration.text.vocabularySize else {
            let key = format == .huggingFace ? "text_config.vocab_size" : "model_cfg.text_cfg.vocab_size"
            throw CLIPEncoderError.invalidModelDirectory(
                path: directory.path,
                reason: "\(tokenizerFiles) gives token ids up to \(tokenizer.vocabularySize - 1), but \(format.configurationFileName)'s \(key) is "
                    + "\(configuration.text.vocabularySize) (tokenizer files of another model?)")
        }
        let file = try SafeTensorsFile(url: folder.weightsFile)
        let loader = WeightLoader(file: file, backend: backend, configurationFileName: format.configurationFileName)
        learnedLogitScale = try Self.learnedLogitScale(file)
        if let resNet = configuration.vision.resNet {
            vision = try ResNetTower(loader: loader, configuration: configuration.vision, resNet: resNet, projectionSize: configuration.projectionSize)
        } else {
            vision = try VisionTower(loader: loader, configuration: configuration.vision, projectionSize: configuration.projectionSize, format: format)
        }
        text = try TextTower(loader: loader, configuration: configuration.text, projectionSize: configuration.projectionSize, format: format)
        try loader.requireAllUsed(alsoUsed: ["logit_scale"])
        digest = try Self.digest(configurationFile: folder.configurationFile, weightsFile: folder.weightsFile)
    }

    /// Where the loader's notices go (a model folder read with a documented fallback, such as
    /// the image size taken from `config.json` when `preprocessor_config.json` is absent):
    /// standard error, as `note: …` lines, unless replaced.
    nonisolated(unsafe) public static var notice: (String) -> Void = { message in
        FileHandle.standardError.write(Data("note: \(message)\n".utf8))
    }

    /// The embedding width (`projection_dim`).
    public var embeddingSize: Int { configuration.projectionSize }

    /// Image embeddings `[batch, projection]`, row-major.
    ///
    /// - Parameter pixels: preprocessed images `[batch, 3, size, size]` (see `ImagePreprocessor`).
    /// - Throws: `CLIPEncoderError.invalidPixels` when the count does not match whole images.
    public func encodeImages(pixels: [Float], normalize: Bool = false) throws -> [Float] {
        let c = configuration.vision
        let perImage = c.channelCount * c.imageSize * c.imageSize
        guard perImage > 0, pixels.count % perImage == 0 else {
            throw CLIPEncoderError.invalidPixels(expected: [pixels.count / max(perImage, 1), c.channelCount, c.imageSize, c.imageSize], actualCount: pixels.count)
        }
        let batch = pixels.count / perImage
        guard batch > 0 else { return [] }
        let embeddings = try lock.withLock { try vision.encode(pixels: pixels, batch: batch) }
        return normalize ? Self.normalizedRows(embeddings, width: embeddingSize) : embeddings
    }

    /// Text embeddings `[batch, projection]` for token sequences of one length (≤ the context
    /// length), each `[SOT] … [EOT]` zero-padded as the tokenizer gives them.
    public func encodeTokens(_ sequences: [[Int32]], normalize: Bool = false) throws -> [Float] {
        guard !sequences.isEmpty else { return [] }
        let embeddings = try lock.withLock { try text.encode(tokens: sequences) }
        return normalize ? Self.normalizedRows(embeddings, width: embeddingSize) : embeddings
    }

    /// Text embeddings `[texts.count, projection]`: each text tokenised to the model's context
    /// length, then encoded.
    /// - Throws: `TokenizerError` for a text longer than the context (unless `truncate`).
    public func encodeTexts(_ texts: [String], truncate: Bool = false, normalize: Bool = false) throws -> [Float] {
        guard !texts.isEmpty else { return [] }
        let sequences = try tokenizer.tokenize(texts, contextLength: configuration.text.maximumPositionCount, truncate: truncate)
        return try encodeTokens(sequences, normalize: normalize)
    }

    /// The folder's tokenizer, else the shipped OpenAI vocabulary, with the files it came from.
    private static func loadTokenizer(directory: URL) throws -> (CLIPTokenizer, files: String) {
        let manager = FileManager.default
        let vocabulary = directory.appendingPathComponent("vocab.json"), merges = directory.appendingPathComponent("merges.txt")
        if manager.fileExists(atPath: vocabulary.path), manager.fileExists(atPath: merges.path) {
            return (try CLIPTokenizer(vocabularyFile: vocabulary, mergesFile: merges), "vocab.json + merges.txt")
        }
        let openAI = directory.appendingPathComponent(Self.openAIVocabularyName)
        if manager.fileExists(atPath: openAI.path) { return (try CLIPTokenizer(openAIMergesFile: openAI), Self.openAIVocabularyName) }
        guard let shipped = Self.shippedOpenAIVocabulary else {
            throw CLIPEncoderError.invalidModelDirectory(
                path: directory.path,
                reason: "no tokenizer: expected vocab.json + merges.txt or \(Self.openAIVocabularyName) in the folder, "
                    + "and the copy shipped with the tool is missing (reinstall it with its resource bundle)")
        }
        return (try CLIPTokenizer(openAIMergesFile: shipped), "the shipped \(Self.openAIVocabularyName)")
    }

    /// OpenAI's BPE merges file, as open_clip and OpenAI's CLIP name it.
    static let openAIVocabularyName = "bpe_simple_vocab_16e6.txt.gz"

    /// The copy of OpenAI's BPE merges shipped with the tool, if present: in the resource bundle
    /// `UPAdapter_CLIPEncoder.resources` beside the executable (where SwiftPM puts it, and where an
    /// installed binary must carry it), else in the source tree the binary was built from.
    /// Looked up by hand rather than through `Bundle.module`, which stops the process when the
    /// bundle is missing.
    public static var shippedOpenAIVocabulary: URL? {
        let bundleName = "UPAdapter_CLIPEncoder.resources"
        var candidates: [URL] = []
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            candidates.append(executable.deletingLastPathComponent().appendingPathComponent(bundleName))
        }
        candidates.append(Bundle.main.bundleURL.appendingPathComponent(bundleName))
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Resources"))
        return candidates.map { $0.appendingPathComponent(openAIVocabularyName) }
            .first { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// The accepted range of `exp(logit_scale)`: OpenAI's CLIP clamps it at 100 during training.
    public static let logitScaleRange: ClosedRange<Float> = 1...1000

    /// `exp(logit_scale)` of the checkpoint, `nil` when it has no `logit_scale`.
    /// - Throws: `CLIPEncoderError.invalidTensorEntry` when it is not one finite number whose
    ///   exponential lies in `logitScaleRange`.
    static func learnedLogitScale(_ file: SafeTensorsFile) throws -> Float? {
        guard file.contains("logit_scale") else { return nil }
        let values = try file.floats("logit_scale")
        guard values.count == 1, let raw = values.first else {
            throw CLIPEncoderError.invalidTensorEntry(path: file.path, tensor: "logit_scale", reason: "holds \(values.count) values, expected 1")
        }
        let scale = Float(exp(Double(raw)))
        guard raw.isFinite, scale.isFinite, logitScaleRange.contains(scale) else {
            throw CLIPEncoderError.invalidTensorEntry(
                path: file.path, tensor: "logit_scale",
                reason: "value \(raw) gives exp(logit_scale) = \(scale), outside \(logitScaleRange.lowerBound)...\(logitScaleRange.upperBound) (OpenAI's CLIP: 100)")
        }
        return scale
    }

    /// Each row of `values` (`[rows, width]`) divided by its L2 norm.
    public static func normalizedRows(_ values: [Float], width: Int) -> [Float] {
        var result = values
        for start in stride(from: 0, to: values.count, by: width) {
            let norm = values[start..<start + width].reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            if norm > 0 { for index in start..<start + width { result[index] = Float(Double(values[index]) / norm) } }
        }
        return result
    }

    /// FNV-1a over 64-bit words of `config.json` and the whole weights file (about 1 GB/s).
    private static func digest(configurationFile: URL, weightsFile: URL) throws -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ data: Data) {
            data.withUnsafeBytes { bytes in
                let words = bytes.count / 8
                for index in 0..<words {
                    hash ^= bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)
                    hash = hash &* 0x100_0000_01b3
                }
                for index in (words * 8)..<bytes.count {
                    hash ^= UInt64(bytes[index])
                    hash = hash &* 0x100_0000_01b3
                }
            }
        }
        try RegularFile.require(configurationFile)
        try RegularFile.require(weightsFile)
        mix(try Data(contentsOf: configurationFile))
        guard let handle = FileHandle(forReadingAtPath: weightsFile.path) else {
            throw CLIPEncoderError.fileAccessFailed(path: weightsFile.path, operation: "open", reason: "cannot read")
        }
        defer { try? handle.close() }
        while let chunk = try handle.read(upToCount: 1 << 24), !chunk.isEmpty { mix(chunk) }
        return String(hash, radix: 16)
    }
}
