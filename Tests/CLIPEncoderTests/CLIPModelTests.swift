import CLIPEncoder
import Compute
import Foundation
import TestSupport
import Testing

/// The towers against PyTorch + transformers on the random fixture model written by
/// `scripts/make_fixtures.py` (2 layers per tower, 50 image tokens, QuickGELU and GELU).
@Suite("CLIP towers against the PyTorch reference")
struct CLIPModelTests {
    static let modelDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/model")

    struct Reference {
        let pixels: [Float]
        let tokens: [[Int32]]
        let imageEmbeddings: [Float]
        let textEmbeddings: [Float]
        let texts: [String]

        init() throws {
            let file = try SafeTensorsFile(url: CLIPModelTests.modelDirectory.appendingPathComponent("reference.safetensors"))
            pixels = try file.floats("pixel_values")
            let idInfo = try file.info("input_ids")
            let bytes = try file.bytes("input_ids")
            let ids = (0..<idInfo.count).map { index in
                Int32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * 4, as: Int32.self) })
            }
            let length = idInfo.shape[1]
            tokens = stride(from: 0, to: ids.count, by: length).map { Array(ids[$0..<$0 + length]) }
            imageEmbeddings = try file.floats("image_embeddings")
            textEmbeddings = try file.floats("text_embeddings")
            texts = try JSONDecoder().decode([String].self, from: Data((file.metadata["texts"] ?? "[]").utf8))
        }
    }

    static func backends() throws -> [(any Backend, Float)] {
        var result: [(any Backend, Float)] = [(CPUBackend(), 1e-4)]
        if let openCL = try OpenCLTesting.backend(skipping: "OpenCL encoder tests") {
            result.append((openCL, 1e-3))
        }
        return result
    }

    /// `|actual − expected|` relative to the largest reference magnitude, element by element.
    static func relativeComparison(_ actual: [Float], _ expected: [Float], tolerance: Float) -> Comparison {
        let scale = expected.map(abs).max() ?? 1
        return Comparison(actual: actual, expected: expected, absoluteTolerance: tolerance * scale, relativeTolerance: 0)
    }

    @Test("Image and text embeddings match transformers on every backend")
    func embeddingsMatchReference() throws {
        let reference = try Reference()
        #expect(reference.tokens.count == reference.texts.count)
        for (backend, tolerance) in try Self.backends() {
            let model = try CLIPModel(directory: Self.modelDirectory, backend: backend)
            let images = try model.encodeImages(pixels: reference.pixels)
            let imageComparison = Self.relativeComparison(images, reference.imageEmbeddings, tolerance: tolerance)
            #expect(imageComparison.passed, "\(backend.name) images: \(imageComparison)")
            let texts = try model.encodeTokens(reference.tokens)
            let textComparison = Self.relativeComparison(texts, reference.textEmbeddings, tolerance: tolerance)
            #expect(textComparison.passed, "\(backend.name) texts: \(textComparison)")
            // The model's own tokenizer gives the reference's ids, hence the same embeddings.
            let fromStrings = try model.encodeTexts(reference.texts)
            #expect(Self.relativeComparison(fromStrings, reference.textEmbeddings, tolerance: tolerance).passed)
            print("\(backend.name): image max abs error \(imageComparison.maxAbsoluteError), text \(textComparison.maxAbsoluteError)")
        }
    }

    @Test("Batches of different sizes reuse the buffers and give the same rows")
    func batchesAreIndependent() throws {
        let reference = try Reference()
        let model = try CLIPModel(directory: Self.modelDirectory, backend: CPUBackend())
        let perImage = reference.pixels.count / 5, width = model.embeddingSize
        let all = try model.encodeImages(pixels: reference.pixels)
        let two = try model.encodeImages(pixels: Array(reference.pixels[perImage..<3 * perImage]))
        #expect(Self.relativeComparison(two, Array(all[width..<3 * width]), tolerance: 1e-5).passed)
        let normalized = try model.encodeImages(pixels: Array(reference.pixels[0..<perImage]), normalize: true)
        let norm = normalized.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(norm - 1) < 1e-5)
        let shortTexts = try model.encodeTokens(reference.tokens.map { Array($0.prefix(20)) })
        #expect(Self.relativeComparison(shortTexts, reference.textEmbeddings, tolerance: 1e-4).passed,
                "sequences cut to 20 tokens (all texts are shorter) give the same embeddings")
    }

    @Test("Text runs stop at the batch's last end-of-text token: each text alone, padded or not, gives its batch row")
    func textsRunToTheLastEndOfText() throws {
        let reference = try Reference()
        let ends = reference.tokens.map { sequence in sequence.indices.max { sequence[$0] < sequence[$1] }! }
        // The reference pads past every end-of-text token, so the parity test above runs truncated too.
        #expect(ends.max()! + 1 < reference.tokens[0].count, "the fixture's sequences are padded")
        #expect(Set(ends).count > 1, "the fixture's texts end at different positions")
        for (backend, tolerance) in try Self.backends() {
            let model = try CLIPModel(directory: Self.modelDirectory, backend: backend)
            let width = model.embeddingSize
            let batch = try model.encodeTokens(reference.tokens)
            for (index, sequence) in reference.tokens.enumerated() {
                let row = Array(batch[(index * width)..<((index + 1) * width)])
                let expected = Array(reference.textEmbeddings[(index * width)..<((index + 1) * width)])
                // Alone, the text runs to its own end-of-text token only; with extra padding, the same.
                for variant in [[sequence], [Array(sequence.prefix(ends[index] + 1))]] {
                    let alone = try model.encodeTokens(variant)
                    #expect(Self.relativeComparison(alone, expected, tolerance: tolerance).passed, "\(backend.name) text \(index) alone")
                    #expect(Self.relativeComparison(alone, row, tolerance: tolerance).passed, "\(backend.name) text \(index) alone vs batch")
                }
            }
        }
    }

    @Test("Bad model directories, weights and inputs give errors naming the cause")
    func errors() throws {
        let backend = CPUBackend()
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temporary) }
        #expect(throws: CLIPEncoderError.self) { _ = try CLIPModel(directory: temporary, backend: backend) }

        // A config whose widths do not match the weights: the error names the tensor.
        for name in ["model.safetensors", "preprocessor_config.json", "bpe_simple_vocab_16e6.txt.gz"] {
            try FileManager.default.copyItem(at: Self.modelDirectory.appendingPathComponent(name).resolvingSymlinksInPath(),
                                             to: temporary.appendingPathComponent(name))
        }
        var config = try String(contentsOf: Self.modelDirectory.appendingPathComponent("config.json"), encoding: .utf8)
        config = config.replacingOccurrences(of: "\"intermediate_size\": 100", with: "\"intermediate_size\": 101")
        try config.write(to: temporary.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        do {
            _ = try CLIPModel(directory: temporary, backend: backend)
            Issue.record("mis-shaped weights should be refused")
        } catch let error as CLIPEncoderError {
            #expect(error.description.contains("mlp.fc1.weight"), "\(error)")
            #expect(error.description.contains("101"), "\(error)")
        }

        let model = try CLIPModel(directory: Self.modelDirectory, backend: backend)
        #expect(throws: CLIPEncoderError.self) { _ = try model.encodeImages(pixels: [1, 2, 3]) }
        #expect(throws: CLIPEncoderError.self) { _ = try model.encodeTokens([[49406, 70000, 49407]]) }
        #expect(throws: CLIPEncoderError.self) { _ = try model.encodeTokens([[49406, 49407], [49406, 1, 49407]]) }
        #expect(throws: (any Error).self) { _ = try model.encodeTexts([String(repeating: "word ", count: 100)]) }
    }
}
