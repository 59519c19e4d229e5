@testable import CLIPEncoder
import Compute
import Foundation
import TestSupport
import Testing

// References from scripts/make_preprocess_fixtures.py (Pillow 13, torchvision, transformers;
// versions in cases.json): Pillow's one-call resizes and the pass order it ran, OpenAI CLIP's
// torchvision pipeline, transformers' CLIPImageProcessorPil and CLIPImageProcessor, and image
// embeddings of the tiny fixture model on each rule's pixels.

private let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures").appendingPathComponent("preprocessing")

private struct ResizeCase: Decodable, CustomStringConvertible {
    let name: String
    let file: String
    let width: Int
    let height: Int
    let input_width: Int
    let input_height: Int
    let first_pass: String
    var description: String { name }
}

private struct PreprocessCase: Decodable, CustomStringConvertible {
    let name: String
    let file: String
    let size: Int
    let crop: Int
    let differs_between_rules: Bool
    let embedded: Bool?
    var description: String { name }
}

private struct CaseFile: Decodable {
    let versions: [String: String]
    let resize_cases: [ResizeCase]
    let preprocess_cases: [PreprocessCase]
}

/// cases.json, written by scripts/make_preprocess_fixtures.py.
/// - Throws: `FixtureError` when it is missing or malformed.
private func caseFile() throws -> CaseFile {
    try Fixtures.decode(CaseFile.self, from: folder.appendingPathComponent("cases.json"))
}

/// The cases of `cases.json` picked by `keyPath`, named `what` in the error.
/// - Throws: `FixtureError` when the file is missing or malformed, or the list is empty.
private func cases<Case>(_ keyPath: KeyPath<CaseFile, [Case]>, _ what: String) throws -> [Case] {
    try Fixtures.cases(caseFile()[keyPath: keyPath], what, in: folder.appendingPathComponent("cases.json"))
}

private func references() throws -> SafeTensorsFile {
    try SafeTensorsFile(url: folder.appendingPathComponent("references.safetensors"))
}

private func decoded(_ file: String) throws -> RGBImage {
    try ImageDecoder.decode(file: folder.appendingPathComponent(file))
}

/// Largest `|actual − expected|` and how many elements differ by more than `tolerance`.
private func difference(_ actual: [Float], _ expected: [Float], tolerance: Float) -> (maximum: Float, over: Int) {
    var maximum: Float = 0
    var over = 0
    for (left, right) in zip(actual, expected) {
        let gap = abs(left - right)
        if !(gap <= tolerance) { over += 1 }
        if gap > maximum || gap.isNaN { maximum = gap.isNaN ? .nan : gap }
    }
    return (maximum, over)
}

private func preprocessor(_ testCase: PreprocessCase, rounding: CenterCropRounding) -> ImagePreprocessor {
    var configuration = PreprocessorConfiguration(shortestEdge: testCase.size, cropSize: testCase.crop)
    configuration.cropRounding = rounding
    return ImagePreprocessor(configuration: configuration)
}

@Suite("Preprocessing against Pillow 13, torchvision and transformers")
struct PreprocessingReferenceTests {
    @Test("The fixtures name the packages that made them, Pillow 13 or later")
    func versionsRecorded() throws {
        let cases = try caseFile()
        let pillow = try #require(cases.versions["pillow"])
        #expect(Int(pillow.split(separator: ".").first ?? "") ?? 0 >= 13, "Pillow \(pillow)")
        let metadata = try references().metadata
        #expect(metadata["pillow_version"] == pillow)
        #expect(cases.resize_cases.count >= 8 && cases.preprocess_cases.count >= 12)
    }

    // Measured: every case equal byte for byte, in both pass orders.
    @Test("Resize equals Pillow's byte for byte, with Pillow's pass order", arguments: try cases(\.resize_cases, "resize_cases"))
    fileprivate func resizeMatchesPillow(testCase: ResizeCase) throws {
        let image = try decoded(testCase.file)
        #expect(image.width == testCase.input_width && image.height == testCase.input_height)
        let resized = Resampler.resize(image, width: testCase.width, height: testCase.height, filter: .bicubic)
        let file = try references()
        #expect(try file.info("resize.\(testCase.name)").shape == [testCase.height, testCase.width, 3])
        let expected = try file.bytes("resize.\(testCase.name)")
        let differing = zip(resized.pixels, expected).filter { $0 != $1 }.count
        #expect(resized.pixels.count == expected.count && differing == 0, "\(differing) bytes differ")
        let verticalFirst = Resampler.verticalPassFirst(
            inputWidth: image.width, inputHeight: image.height, outputWidth: testCase.width, outputHeight: testCase.height)
        #expect(verticalFirst == (testCase.first_pass == "vertical"))
    }

    // Measured: bytes equal and normalised values equal (difference 0) in every case, for
    // both rules.
    @Test("The openai rule equals OpenAI CLIP's torchvision pipeline", arguments: try cases(\.preprocess_cases, "preprocess_cases"))
    fileprivate func openAIRule(testCase: PreprocessCase) throws {
        try compare(testCase, rounding: .openai, bytesKey: "openai_bytes", valuesKey: "openai")
    }

    @Test("The transformers rule equals CLIPImageProcessorPil", arguments: try cases(\.preprocess_cases, "preprocess_cases"))
    fileprivate func transformersRule(testCase: PreprocessCase) throws {
        try compare(testCase, rounding: .transformers, bytesKey: "transformers_bytes", valuesKey: "transformers_pil")
    }

    private func compare(_ testCase: PreprocessCase, rounding: CenterCropRounding, bytesKey: String, valuesKey: String) throws {
        let image = try decoded(testCase.file)
        let preprocessor = preprocessor(testCase, rounding: rounding)
        let file = try references()
        let cropped = preprocessor.centerCrop(preprocessor.resized(image))
        let expectedBytes = try file.bytes("\(bytesKey).\(testCase.name)")
        #expect(try file.info("\(bytesKey).\(testCase.name)").shape == [testCase.crop, testCase.crop, 3])
        let differingBytes = zip(cropped.pixels, expectedBytes).filter { $0 != $1 }.count
        #expect(cropped.pixels.count == expectedBytes.count && differingBytes == 0, "\(differingBytes) bytes differ")

        let values = preprocessor.preprocess(image)
        let expected = try file.floats("\(valuesKey).\(testCase.name)")
        try #require(values.count == expected.count)
        let gap = difference(values, expected, tolerance: 1e-6)
        #expect(gap.over == 0, "max difference \(gap.maximum), \(gap.over) values over 1e-6")
    }

    @Test("The two rules differ exactly where the references do", arguments: try cases(\.preprocess_cases, "preprocess_cases"))
    fileprivate func rulesDifferWhereReferencesDo(testCase: PreprocessCase) throws {
        let image = try decoded(testCase.file)
        let openAI = preprocessor(testCase, rounding: .openai).preprocess(image)
        let transformers = preprocessor(testCase, rounding: .transformers).preprocess(image)
        #expect((openAI != transformers) == testCase.differs_between_rules)
    }

    // transformers' default CLIPImageProcessor resizes with torchvision's uint8 antialiasing
    // kernel rather than Pillow, always horizontal pass first: measured, its values differ from
    // Pillow's by exactly one level in 0.1–0.8 % of the values, and in 15–16 % for the tall
    // cases where Pillow 13 runs the vertical pass first. It places odd padding like
    // torchvision (the extra pixel after the image), hence the padded case is left out.
    @Test("The transformers rule is within one level of CLIPImageProcessor's torchvision backend",
          arguments: (try cases(\.preprocess_cases, "preprocess_cases")).filter { $0.crop <= $0.size })
    fileprivate func transformersTorchvisionBackend(testCase: PreprocessCase) throws {
        let image = try decoded(testCase.file)
        let values = preprocessor(testCase, rounding: .transformers).preprocess(image)
        let expected = try references().floats("transformers.\(testCase.name)")
        try #require(values.count == expected.count)
        let oneLevel: Float = 1 / 255 / 0.26130258 + 1e-5
        let gap = difference(values, expected, tolerance: 1e-5)
        #expect(gap.maximum <= oneLevel, "max difference \(gap.maximum)")
        #expect(Double(gap.over) <= 0.2 * Double(values.count), "\(gap.over) of \(values.count) values differ")
    }

    // Measured on the CPU backend: absolute differences ≤ 8.1e-7, i.e. ≤ 5e-7 of the largest
    // element (the tolerance is 1e-4 of it).
    @Test("Image embeddings of files match transformers' CLIPModel under both rules")
    func embeddingsOfFiles() throws {
        let cases = (try cases(\.preprocess_cases, "preprocess_cases")).filter { $0.embedded == true }
        try #require(cases.count >= 5)
        let model = try CLIPModel(directory: CLIPModelTests.modelDirectory, backend: CPUBackend())
        let file = try references()
        for testCase in cases {
            for rounding in [CenterCropRounding.openai, .transformers] {
                var configuration = model.preprocessorConfiguration
                configuration.cropRounding = rounding
                #expect(configuration.cropSize == testCase.crop && configuration.shortestEdge == testCase.size)
                let pixels = ImagePreprocessor(configuration: configuration)
                    .preprocess(try decoded(testCase.file))
                let embedding = try model.encodeImages(pixels: pixels)
                let expected = try file.floats("embedding.\(rounding.rawValue).\(testCase.name)")
                let comparison = CLIPModelTests.relativeComparison(embedding, expected, tolerance: 1e-4)
                #expect(comparison.passed, "\(testCase.name) \(rounding.rawValue): \(comparison)")
            }
        }
    }

    @Test("Crop offsets: ties to even (openai) or down (transformers); padding before rounded down or up")
    func cropOffsets() {
        // torchvision's int(round((side − crop) / 2.0)) and transformers' (side − crop) // 2,
        // evaluated by hand for the listed sides; padding per torchvision's pad and numpy's
        // ceil((crop − side) / 2).
        let sides = [(339, 224, 58, 57), (340, 224, 58, 58), (229, 224, 2, 2), (231, 224, 4, 3), (224, 224, 0, 0),
                     (217, 224, -3, -4), (218, 224, -3, -3)]
        for (side, crop, openAI, transformers) in sides {
            #expect(CenterCropRounding.openai.offset(side: side, crop: crop) == openAI, "side \(side)")
            #expect(CenterCropRounding.transformers.offset(side: side, crop: crop) == transformers, "side \(side)")
        }
    }

    @Test("A crop rule other than the pipeline's changes the cache identifier; the pipeline's own adds nothing")
    func identifier() {
        var configuration = PreprocessorConfiguration()
        let original = configuration.identifier
        #expect(original.hasSuffix("-openai") && !original.contains("transformers"))
        configuration.cropRounding = .transformers
        #expect(configuration.identifier == original + "-croptransformers")
        configuration.cropRounding = .openai
        #expect(configuration.identifier == original)
    }
}

@Suite("Resampling against its plain-loop twin")
struct ResamplerTwinTests {
    /// A deterministic pseudo-random image (xorshift bytes).
    static func noiseImage(width: Int, height: Int, seed: UInt64) throws -> RGBImage {
        var state = seed | 1
        let pixels = (0..<(width * height * 3)).map { _ -> UInt8 in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state >> 24)
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    // Sizes around the cases that need care: one-pixel sides, rows shorter than a vector, the
    // last row (read without overrun), both pass orders and each axis alone.
    static let sizes: [(Int, Int, Int, Int)] = [
        (1, 1, 3, 2), (2, 3, 1, 1), (5, 4, 5, 9), (7, 3, 2, 3), (31, 17, 12, 40), (64, 97, 224, 339),
        (120, 300, 56, 140), (300, 120, 140, 56), (500, 375, 298, 224), (375, 500, 224, 298), (50, 81, 40, 60),
        (50, 80, 40, 60), (33, 200, 33, 37), (200, 33, 37, 33), (6, 6, 6, 6),
    ]

    @Test("Whole resizes equal the twin's, for both filters")
    func wholeResizes() throws {
        for (index, (width, height, outputWidth, outputHeight)) in Self.sizes.enumerated() {
            let image = try Self.noiseImage(width: width, height: height, seed: UInt64(index + 1))
            for filter in [ResampleFilter.bicubic, .bilinear] {
                let fast = Resampler.resize(image, width: outputWidth, height: outputHeight, filter: filter)
                let plain = ReferenceResampler.resize(image, width: outputWidth, height: outputHeight, filter: filter)
                #expect(fast == plain, "\(width)×\(height) → \(outputWidth)×\(outputHeight) \(filter)")
            }
        }
    }

    // Measured: identical bytes at every size, in both filters and both passes. On a processor
    // without AVX2 both calls run the Swift loop.
    @Test("Each pass gives the same bytes in C (AVX2) and in Swift, tails and parts included",
          arguments: ["horizontal", "vertical"])
    func vectorAndSwiftPasses(pass: String) throws {
        let horizontal = pass == "horizontal"
        for (index, (width, height, outputWidth, outputHeight)) in Self.sizes.enumerated() {
            // The pass's axis and the other one, whose lines it runs over.
            let (inputSize, outputSize, lines) = horizontal ? (width, outputWidth, height) : (height, outputHeight, width)
            guard inputSize != outputSize else { continue }
            let image = try Self.noiseImage(width: width, height: height, seed: UInt64(index + 130))
            for filter in [ResampleFilter.bicubic, .bilinear] {
                let taps = Resampler.taps(inputSize: inputSize, outputSize: outputSize, filter: filter)
                let outputs = (outputSize / 4)..<max(outputSize / 4 + 1, outputSize - outputSize / 5)
                // Every line and output (line counts and row lengths that are not multiples of
                // the vector width), then a middle part of both.
                for (range, part) in [(0..<lines, taps), (min(1, lines - 1)..<max(lines - 2, 1), taps.restricted(to: outputs, shift: 0))] {
                    func run(vectorised: Bool) -> RGBImage {
                        horizontal
                            ? ResamplePasses.horizontal(image, rows: range, taps: part, vectorised: vectorised)
                            : ResamplePasses.vertical(image, columns: range, taps: part, vectorised: vectorised)
                    }
                    #expect(run(vectorised: true) == run(vectorised: false),
                            "\(pass) \(width)×\(height) → \(outputWidth)×\(outputHeight) \(filter), lines \(range)")
                }
            }
        }
    }

    @Test("A part of a resize equals the same part of the whole resize")
    func parts() throws {
        for (index, (width, height, outputWidth, outputHeight)) in Self.sizes.enumerated() {
            let image = try Self.noiseImage(width: width, height: height, seed: UInt64(index + 50))
            let whole = ReferenceResampler.resize(image, width: outputWidth, height: outputHeight, filter: .bicubic)
            let columns = (outputWidth / 3)..<max(outputWidth / 3 + 1, outputWidth - outputWidth / 4)
            let rows = (outputHeight / 4)..<max(outputHeight / 4 + 1, outputHeight - outputHeight / 3)
            let part = Resampler.resize(
                image, width: outputWidth, height: outputHeight, filter: .bicubic, columns: columns, rows: rows)
            #expect(part.width == columns.count && part.height == rows.count)
            let expected = rows.flatMap { row in
                whole.pixels[((row * outputWidth + columns.lowerBound) * 3)..<((row * outputWidth + columns.upperBound) * 3)]
            }
            #expect(part.pixels == expected, "\(width)×\(height) → \(outputWidth)×\(outputHeight), part \(columns) × \(rows)")
        }
    }

    @Test("Preprocessing the crop's part equals cropping the whole resize")
    func preprocessingUsesTheCropOnly() throws {
        for (index, (width, height, _, _)) in Self.sizes.enumerated() {
            let image = try Self.noiseImage(width: width, height: height, seed: UInt64(index + 90))
            for rounding in CenterCropRounding.allCases {
                for (size, crop) in [(32, 32), (32, 27), (24, 40)] {
                    var configuration = PreprocessorConfiguration(shortestEdge: size, cropSize: crop)
                    configuration.cropRounding = rounding
                    let preprocessor = ImagePreprocessor(configuration: configuration)
                    let cropped = preprocessor.centerCrop(preprocessor.resized(image))
                    let viaWhole = preprocessor.normalised(cropped, at: (x: 0, y: 0), crop: crop)
                    #expect(preprocessor.preprocess(image) == viaWhole, "\(width)×\(height) size \(size) crop \(crop) \(rounding)")
                }
            }
        }
    }
}
