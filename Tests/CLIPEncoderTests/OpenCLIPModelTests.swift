import CLIPEncoder
import Compute
import Foundation
import Testing

/// open_clip model folders against open_clip on random weights, written by
/// `scripts/make_openclip_fixtures.py`: a ModifiedResNet (layers [1, 2, 1, 1], exact GELU text
/// tower) and a ViT (QuickGELU, bilinear squash preprocessing with mean = std = 0.5), neither with
/// tokenizer files, so the OpenAI vocabulary shipped with the tool is used.
@Suite("open_clip folders against the open_clip reference")
struct OpenCLIPModelTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let folders = ["openclip-resnet", "openclip-vit"]

    struct Reference {
        let pixels: [Float]
        let tokens: [[Int32]]
        let texts: [String]
        let imageFiles: [URL]
        let imageEmbeddings: [Float]
        let textEmbeddings: [Float]
        let fileEmbeddings: [Float]
        let filePixels: [Float]

        init(folder: URL) throws {
            let file = try SafeTensorsFile(url: folder.appendingPathComponent("reference.safetensors"))
            pixels = try file.floats("pixel_values")
            let idInfo = try file.info("input_ids")
            let bytes = try file.bytes("input_ids")
            let ids = (0..<idInfo.count).map { index in
                Int32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * 4, as: Int32.self) })
            }
            let length = idInfo.shape[1]
            tokens = stride(from: 0, to: ids.count, by: length).map { Array(ids[$0..<$0 + length]) }
            texts = try JSONDecoder().decode([String].self, from: Data((file.metadata["texts"] ?? "[]").utf8))
            let names = try JSONDecoder().decode([String].self, from: Data((file.metadata["image_files"] ?? "[]").utf8))
            imageFiles = names.map { OpenCLIPModelTests.fixtures.appendingPathComponent("images").appendingPathComponent($0) }
            imageEmbeddings = try file.floats("image_embeddings")
            textEmbeddings = try file.floats("text_embeddings")
            fileEmbeddings = try file.floats("file_embeddings")
            filePixels = try file.floats("file_pixel_values")
        }
    }

    @Test("Image, image-file and text embeddings match open_clip on every backend", arguments: folders)
    func embeddingsMatchReference(folderName: String) throws {
        let folder = Self.fixtures.appendingPathComponent(folderName)
        let reference = try Reference(folder: folder)
        #expect(reference.imageFiles.count == 3 && reference.tokens.count == reference.texts.count)
        for (backend, tolerance) in try CLIPModelTests.backends() {
            let model = try CLIPModel(directory: folder, backend: backend)
            let images = try model.encodeImages(pixels: reference.pixels)
            let imageComparison = CLIPModelTests.relativeComparison(images, reference.imageEmbeddings, tolerance: tolerance)
            #expect(imageComparison.passed, "\(folderName) \(backend.name) images: \(imageComparison)")
            let texts = try model.encodeTokens(reference.tokens)
            let textComparison = CLIPModelTests.relativeComparison(texts, reference.textEmbeddings, tolerance: tolerance)
            #expect(textComparison.passed, "\(folderName) \(backend.name) texts: \(textComparison)")
            // The shipped OpenAI vocabulary gives open_clip's ids, hence the same embeddings.
            let fromStrings = try model.encodeTexts(reference.texts)
            #expect(CLIPModelTests.relativeComparison(fromStrings, reference.textEmbeddings, tolerance: tolerance).passed,
                    "\(folderName) \(backend.name): texts through the tokenizer")
            // Odd-sized, grey and RGBA files through the checkpoint's own preprocessing. The
            // reference converts each file to RGB first (as dataset loaders do), so the RGB image
            // is preprocessed; open_clip's transform on the file as opened is tested in
            // PipelineReferenceTests.
            let preprocessor = ImagePreprocessor(configuration: model.preprocessorConfiguration)
            let pixels = try reference.imageFiles.flatMap { preprocessor.preprocess(try ImageDecoder.decode(file: $0)) }
            let perImage = pixels.count / reference.imageFiles.count
            for (index, file) in reference.imageFiles.enumerated() {
                let range = index * perImage..<(index + 1) * perImage
                let pixelComparison = Comparison(actual: Array(pixels[range]), expected: Array(reference.filePixels[range]),
                                                 absoluteTolerance: 1e-5, relativeTolerance: 0)
                #expect(pixelComparison.passed, "\(folderName) \(file.lastPathComponent): preprocessing differs from open_clip's: \(pixelComparison)")
            }
            let files = try model.encodeImages(pixels: pixels)
            let fileComparison = CLIPModelTests.relativeComparison(files, reference.fileEmbeddings, tolerance: tolerance)
            #expect(fileComparison.passed, "\(folderName) \(backend.name) image files: \(fileComparison)")
            print("\(folderName) \(backend.name): image max abs error \(imageComparison.maxAbsoluteError), "
                  + "text \(textComparison.maxAbsoluteError), files \(fileComparison.maxAbsoluteError)")
        }
    }

    @Test("The configuration and preprocessing come from open_clip_config.json")
    func configuration() throws {
        let backend = CPUBackend()
        let resNet = try CLIPModel(directory: Self.fixtures.appendingPathComponent("openclip-resnet"), backend: backend)
        #expect(resNet.configuration.vision.resNet == CLIPConfiguration.ResNet(blockCounts: [1, 2, 1, 1], width: 8, headCount: 16))
        #expect(resNet.configuration.vision.imageSize == 64 && resNet.embeddingSize == 24)
        #expect(resNet.configuration.text.activation == .gelu)
        #expect(resNet.preprocessorConfiguration == PreprocessorConfiguration(shortestEdge: 64, cropSize: 64))
        #expect(resNet.learnedLogitScale != nil)
        let vit = try CLIPModel(directory: Self.fixtures.appendingPathComponent("openclip-vit"), backend: backend)
        #expect(vit.configuration.vision.resNet == nil && vit.configuration.vision.headCount == 3)
        #expect(vit.configuration.vision.intermediateSize == 192 && vit.configuration.vision.tokenCount == 50)
        #expect(vit.configuration.text.activation == .quickGELU && vit.configuration.vision.activation == .quickGELU)
        #expect(vit.preprocessorConfiguration.imageMean == [0.5, 0.5, 0.5] && vit.preprocessorConfiguration.resample == .bilinear)
        #expect(vit.preprocessorConfiguration.resizeMode == .squash && vit.preprocessorConfiguration.identifier.contains("-squash"))
        // resize_mode shortest (open_clip's default) keeps the plain cache key; squash resizes both sides.
        let source = Self.fixtures.appendingPathComponent("openclip-vit")
        var configuration = try String(contentsOf: source.appendingPathComponent("open_clip_config.json"), encoding: .utf8)
        configuration = configuration.replacingOccurrences(of: #""resize_mode": "squash""#, with: #""resize_mode": "shortest""#)
        let directory = try folder(["open_clip_config.json": configuration])
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: source.appendingPathComponent("open_clip_model.safetensors"),
                                         to: directory.appendingPathComponent("open_clip_model.safetensors"))
        let shortest = try CLIPModel(directory: directory, backend: backend).preprocessorConfiguration
        #expect(shortest.resizeMode == .shortest && !shortest.identifier.contains("squash"))
        let image = try RGBImage(width: 37, height: 53, pixels: [UInt8](repeating: 90, count: 37 * 53 * 3))
        let squashed = ImagePreprocessor(configuration: vit.preprocessorConfiguration).resized(image)
        #expect(squashed.width == 35 && squashed.height == 35)
        #expect(ImagePreprocessor(configuration: shortest).resized(image).height == 50)
        #expect(CLIPModel.shippedOpenAIVocabulary != nil)
    }

    /// A temporary folder holding `files` (name → contents).
    func folder(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("openclip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, contents) in files { try Data(contents.utf8).write(to: directory.appendingPathComponent(name)) }
        return directory
    }

    func loadError(_ directory: URL) -> String {
        do {
            _ = try CLIPModel(directory: directory, backend: CPUBackend())
            return "loaded"
        } catch {
            return "\(error)"
        }
    }

    @Test("Folders of neither format, pickles and TorchScript files get errors saying what was looked for and how to convert")
    func formatErrors() throws {
        let empty = try folder([:])
        defer { try? FileManager.default.removeItem(at: empty) }
        let message = loadError(empty)
        #expect(message.contains("config.json + model.safetensors") && message.contains("open_clip_config.json + open_clip_model.safetensors"), "\(message)")

        let pickle = try folder(["open_clip_config.json": "{\"model_cfg\": {}}", "open_clip_pytorch_model.bin": "x"])
        defer { try? FileManager.default.removeItem(at: pickle) }
        let pickleMessage = loadError(pickle)
        #expect(pickleMessage.contains("open_clip_pytorch_model.bin") && pickleMessage.contains("torch.load")
                && pickleMessage.contains("open_clip_model.safetensors"), "\(pickleMessage)")

        let torchScript = try folder(["RN50.pt": "x"])
        defer { try? FileManager.default.removeItem(at: torchScript) }
        let scriptMessage = loadError(torchScript)
        #expect(scriptMessage.contains("RN50.pt") && scriptMessage.contains("open_clip.load_openai_model"), "\(scriptMessage)")
    }

    @Test("Unsupported open_clip options are refused naming the key")
    func unsupportedOptions() throws {
        let source = Self.fixtures.appendingPathComponent("openclip-resnet")
        let cases: [(String, String)] = [
            (#"{"model_cfg": {"vision_cfg": {"layers": [1, 2, 1, 1], "width": 8, "image_size": 64}}, "preprocess_cfg": {"resize_mode": "longest"}}"#,
             "preprocess_cfg.resize_mode"),
            (#"{"model_cfg": {"vision_cfg": {"timm_model_name": "convnext_base"}}}"#, "model_cfg.vision_cfg.timm_model_name"),
            (#"{"model_cfg": {"text_cfg": {"hf_model_name": "roberta-base"}}}"#, "model_cfg.text_cfg.hf_model_name"),
            (#"{"model_cfg": {"vision_cfg": {"layers": [3, 4, 6], "width": 64}}}"#, "model_cfg.vision_cfg.layers"),
            (#"{"preprocess_cfg": {}}"#, "model_cfg"),
        ]
        for (configuration, key) in cases {
            let directory = try folder(["open_clip_config.json": configuration])
            defer { try? FileManager.default.removeItem(at: directory) }
            try FileManager.default.copyItem(at: source.appendingPathComponent("open_clip_model.safetensors"),
                                             to: directory.appendingPathComponent("open_clip_model.safetensors"))
            let message = loadError(directory)
            #expect(message.contains(key), "\(key): \(message)")
        }
    }
}
