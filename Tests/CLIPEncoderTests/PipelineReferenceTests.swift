@testable import CLIPEncoder
import Compute
import Foundation
import TestSupport
import Testing

// References from scripts/make_preprocess_fixtures.py (pipelines.safetensors, pipelines.json):
// for each image and pipeline, the upstream's RGB bytes after its resize and crop, and the tiny
// fixture model's embedding of the upstream's pixel values. Upstreams: open_clip's eval
// transform (openai), CLIPImageProcessorPil (transformers-pil), CLIPImageProcessor (transformers);
// versions in pipelines.json.

private let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures").appendingPathComponent("preprocessing")

private struct PipelineCase: Decodable, CustomStringConvertible {
    let name: String
    let file: String
    let mode: String
    let size: Int
    let crop: Int
    let embedded: Bool?
    var description: String { name }
}

private struct PipelineCaseFile: Decodable {
    let versions: [String: String]
    let cases: [PipelineCase]
}

/// pipelines.json, written by scripts/make_preprocess_fixtures.py.
/// - Throws: `FixtureError` when it is missing or malformed.
private func pipelineCaseFile() throws -> PipelineCaseFile {
    try Fixtures.decode(PipelineCaseFile.self, from: folder.appendingPathComponent("pipelines.json"))
}

/// The cases of pipelines.json.
/// - Throws: `FixtureError` when the file is missing or malformed, or holds no case.
private func pipelineCases() throws -> [PipelineCase] {
    try Fixtures.cases(pipelineCaseFile().cases, "cases", in: folder.appendingPathComponent("pipelines.json"))
}

private func pipelineReferences() throws -> SafeTensorsFile {
    try SafeTensorsFile(url: folder.appendingPathComponent("pipelines.safetensors"))
}

private func preprocessor(_ testCase: PipelineCase, _ pipeline: PreprocessingPipeline) -> ImagePreprocessor {
    var configuration = PreprocessorConfiguration(shortestEdge: testCase.size, cropSize: testCase.crop)
    configuration.pipeline = pipeline
    return ImagePreprocessor(configuration: configuration)
}

@Suite("Named preprocessing pipelines against open_clip, CLIPImageProcessorPil and CLIPImageProcessor")
struct PipelineReferenceTests {
    @Test("The fixtures exist, cover at least 16 images and name the packages that made them")
    func fixturesPresent() throws {
        let cases = try pipelineCaseFile()
        #expect(Set(cases.cases.map(\.file)).count >= 16)
        for package in ["pillow", "torchvision", "transformers", "open_clip"] {
            #expect(cases.versions[package] != nil, "\(package) version missing")
        }
        let modes = Set(cases.cases.map(\.mode))
        #expect(modes.isSuperset(of: ["P", "1", "I;16", "RGBA", "LA", "CMYK", "L", "RGB"]), "\(modes)")
        _ = try pipelineReferences()
    }

    @Test("Files open in Pillow's mode", arguments: try pipelineCases())
    fileprivate func modes(testCase: PipelineCase) throws {
        let source = try ImageDecoder.decodeSource(file: folder.appendingPathComponent(testCase.file))
        #expect(source.mode.rawValue == testCase.mode)
    }

    // Measured: every case byte for byte in both Pillow-based pipelines.
    @Test("openai and transformers-pil give the upstream's bytes exactly", arguments: try pipelineCases())
    fileprivate func pillowPipelines(testCase: PipelineCase) throws {
        let source = try ImageDecoder.decodeSource(file: folder.appendingPathComponent(testCase.file))
        let file = try pipelineReferences()
        for pipeline in [PreprocessingPipeline.openai, .transformersPil] {
            let key = "\(pipeline.rawValue).\(testCase.name)"
            #expect(try file.info(key).shape == [testCase.crop, testCase.crop, 3])
            let expected = try file.bytes(key)
            let actual = preprocessor(testCase, pipeline).cropped(source).pixels
            let differing = zip(actual, expected).filter { $0 != $1 }.count
            #expect(actual.count == expected.count && differing == 0, "\(pipeline.rawValue): \(differing) bytes differ")
        }
    }

    // The issue's bound for the torchvision kernel: at most one level, in at most 0.5 % of the
    // bytes. Measured on an AVX2 processor (fixtures made there): every byte equal.
    @Test("transformers is within one level of CLIPImageProcessor in at most 0.5 % of bytes", arguments: try pipelineCases())
    fileprivate func torchvisionPipeline(testCase: PipelineCase) throws {
        let source = try ImageDecoder.decodeSource(file: folder.appendingPathComponent(testCase.file))
        let expected = try pipelineReferences().bytes("transformers.\(testCase.name)")
        let actual = preprocessor(testCase, .transformers).cropped(source).pixels
        try #require(actual.count == expected.count)
        let gaps = zip(actual, expected).map { abs(Int($0) - Int($1)) }
        print("transformers \(testCase.name): \(gaps.filter { $0 > 0 }.count) of \(gaps.count) bytes differ, largest \(gaps.max() ?? 0)")
        #expect(gaps.max() ?? 0 <= 1, "largest difference \(gaps.max() ?? 0)")
        #expect(Double(gaps.filter { $0 > 0 }.count) <= 0.005 * Double(gaps.count), "\(gaps.filter { $0 > 0 }.count) of \(gaps.count) differ")
    }

    // Measured on the CPU backend: relative differences of a few 1e-7.
    @Test("Embeddings of files through each pipeline match the upstream's within 1e-5")
    func embeddings() throws {
        let cases = (try pipelineCases()).filter { $0.embedded == true }
        try #require(cases.count >= 16)
        let model = try CLIPModel(directory: CLIPModelTests.modelDirectory, backend: CPUBackend())
        let file = try pipelineReferences()
        for testCase in cases {
            for pipeline in PreprocessingPipeline.allCases {
                var configuration = model.preprocessorConfiguration
                configuration.pipeline = pipeline
                let pixels = try ImagePreprocessor(configuration: configuration)
                    .preprocess(file: folder.appendingPathComponent(testCase.file))
                let embedding = try model.encodeImages(pixels: pixels)
                let expected = try file.floats("embedding.\(pipeline.rawValue).\(testCase.name)")
                let comparison = CLIPModelTests.relativeComparison(embedding, expected, tolerance: 1e-5)
                #expect(comparison.passed, "\(testCase.name) \(pipeline.rawValue): \(comparison)")
            }
        }
    }

    @Test("The pipelines differ where the upstreams do: palette images between openai and transformers-pil")
    func palettesDiffer() throws {
        let file = try pipelineReferences()
        #expect(try file.bytes("openai.palette_35") != file.bytes("transformers-pil.palette_35"))
        let source = try ImageDecoder.decodeSource(file: folder.appendingPathComponent("mode_palette.png"))
        let testCase = try #require(try pipelineCases().first { $0.name == "palette_35" })
        #expect(preprocessor(testCase, .openai).cropped(source) != preprocessor(testCase, .transformersPil).cropped(source))
    }

    @Test("Hugging Face folders default to transformers-pil, open_clip folders and plain configurations to openai")
    func defaults() throws {
        #expect(try PreprocessorConfiguration(modelFolder: CLIPModelTests.modelDirectory).pipeline == .transformersPil)
        #expect(PreprocessorConfiguration().pipeline == .openai)
        let openCLIP = CLIPModelTests.modelDirectory.deletingLastPathComponent().appendingPathComponent("openclip-vit")
        let model = try CLIPModel(directory: openCLIP, backend: CPUBackend())
        #expect(model.preprocessorConfiguration.pipeline == .openai)
    }

    @Test("An unknown pipeline name lists the accepted ones")
    func unknownName() {
        #expect(throws: CLIPEncoderError.unknownPreprocessing(name: "pil", accepted: ["openai", "transformers-pil", "transformers"])) {
            try PreprocessingPipeline(name: "pil")
        }
        let message = "\(CLIPEncoderError.unknownPreprocessing(name: "pil", accepted: PreprocessingPipeline.acceptedNames))"
        #expect(message.contains("openai, transformers-pil, transformers"))
    }

    @Test("The pipeline is part of the cache identifier; a crop rule other than the pipeline's adds -crop<rule>")
    func identifier() {
        var configuration = PreprocessorConfiguration()
        let openAI = configuration.identifier
        #expect(openAI.hasSuffix("-openai"))
        configuration.pipeline = .transformersPil
        #expect(configuration.identifier.hasSuffix("-transformers-pil"))
        configuration.pipeline = .transformers
        #expect(configuration.identifier.hasSuffix("-transformers"))
        configuration.cropRounding = .openai
        #expect(configuration.identifier.hasSuffix("-transformers-cropopenai"))
        configuration.cropRounding = .transformersTorchvision
        #expect(configuration.identifier.hasSuffix("-transformers"))
    }

    // Pillow's alpha_composite onto white (AlphaComposite.c) evaluated by hand for a few values:
    // a = 0 gives white; a = 255 the colour; a = 128, c = 0: (0 + 255·127·128 + 16384) → 127.
    @Test("Compositing onto white follows Pillow's integer formula")
    func overWhite() {
        #expect(SourceImage.overWhite(10, alpha: 0) == 255)
        #expect(SourceImage.overWhite(10, alpha: 255) == 10)
        #expect(SourceImage.overWhite(0, alpha: 128) == 127)
    }

    // Measured: identical bytes at every size of the twin tests.
    @Test("The torchvision kernel's passes give the same bytes in C (AVX2) and in Swift at its own precisions")
    func torchvisionPassesVectorAndSwift() throws {
        for (index, (width, height, outputWidth, outputHeight)) in ResamplerTwinTests.sizes.enumerated() {
            let image = try ResamplerTwinTests.noiseImage(width: width, height: height, seed: UInt64(index + 300))
            if width != outputWidth {
                let taps = TorchvisionResampler.taps(inputSize: width, outputSize: outputWidth)
                #expect(taps.precisionBits < Resampler.precisionBits)
                #expect(ResamplePasses.horizontal(image, rows: 0..<height, taps: taps, vectorised: true)
                        == ResamplePasses.horizontal(image, rows: 0..<height, taps: taps, vectorised: false))
            }
            if height != outputHeight {
                let taps = TorchvisionResampler.taps(inputSize: height, outputSize: outputHeight)
                #expect(ResamplePasses.vertical(image, columns: 0..<width, taps: taps, vectorised: true)
                        == ResamplePasses.vertical(image, columns: 0..<width, taps: taps, vectorised: false))
            }
        }
    }

    // Pillow's nearest-neighbour positions for 3 → 5 (step 0.6: 0.3, 0.9, 1.5, 2.1, 2.7) and
    // 5 → 2 (step 2.5: 1.25, 3.75), by hand.
    @Test("Nearest-neighbour indices are Pillow's")
    func nearestIndices() {
        #expect(ModeResampling.nearestIndices(inputSize: 3, outputSize: 5) == [0, 0, 1, 2, 2])
        #expect(ModeResampling.nearestIndices(inputSize: 5, outputSize: 2) == [1, 3])
    }
}
