import CLIPEncoder
import Foundation
import TestSupport
import Testing

// Fixtures and references come from scripts/make_image_fixtures.py: decoded pixels are PIL's
// `Image.open(f).convert("RGB")`, preprocessed tensors are OpenAI CLIP's torchvision pipeline
// (PIL bicubic Resize of the shorter side, CenterCrop, ToTensor, Normalize); draft references
// (`draft.<file>.<side>`, `draft_preprocessed.<case>`) are the same after Pillow's
// `image.draft("RGB", (side, side))`.

private let imageFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures").appendingPathComponent("images")

private func imageFile(_ name: String) -> URL {
    imageFolder.appendingPathComponent(name)
}

private func references() throws -> SafeTensorsFile {
    try SafeTensorsFile(url: imageFile("references.safetensors"))
}

/// PIL's decoded pixels of `name` and their `[height, width, 3]` shape.
private func referencePixels(_ name: String) throws -> (pixels: [UInt8], shape: [Int]) {
    let file = try references()
    let info = try file.info("decoded.\(name)")
    #expect(info.dtype == .uint8)
    return (try file.bytes("decoded.\(name)"), info.shape)
}

/// Largest per-byte difference between two pixel arrays of the same size.
private func maximumDifference(_ left: [UInt8], _ right: [UInt8]) -> Int {
    zip(left, right).map { abs(Int($0) - Int($1)) }.max() ?? 0
}

private struct PreprocessingCase: Decodable, CustomStringConvertible {
    let name: String
    let file: String
    let size: Int
    let crop: Int
    var description: String { name }
}

/// A JPEG decoded in draft mode for `side`, and the size Pillow's `draft` gave it.
private struct DraftCase: Decodable, CustomStringConvertible {
    let file: String
    let side: Int
    let width: Int
    let height: Int
    let draft_width: Int
    let draft_height: Int
    var description: String { "\(file) for side \(side)" }
}

private struct CaseList: Decodable {
    let mean: [Float]
    let std: [Float]
    let cases: [PreprocessingCase]
    let draft_cases: [DraftCase]
    let draft_preprocess_cases: [PreprocessingCase]
}

/// cases.json, written by scripts/make_image_fixtures.py.
/// - Throws: `FixtureError` when it is missing or malformed.
private func caseList() throws -> CaseList {
    try Fixtures.decode(CaseList.self, from: imageFile("cases.json"))
}

/// The cases of `cases.json` picked by `keyPath`, named `what` in the error.
/// - Throws: `FixtureError` when the file is missing or malformed, or the list is empty.
private func cases<Case>(_ keyPath: KeyPath<CaseList, [Case]>, _ what: String) throws -> [Case] {
    try Fixtures.cases(caseList()[keyPath: keyPath], what, in: imageFile("cases.json"))
}

private func preprocessingCases() throws -> [PreprocessingCase] { try cases(\.cases, "cases") }

@Suite("Image decoding")
struct ImageDecodingTests {
    @Test(
        "PNG decodes to exactly PIL's convert(\"RGB\") pixels",
        arguments: [
            "rgb.png", "grey.png", "grey_alpha.png", "palette.png", "rgba.png", "tall.png", "gamma.png",
            "interlaced.png",
        ])
    func pngMatchesPIL(name: String) throws {
        let image = try ImageDecoder.decode(file: imageFile(name))
        let reference = try referencePixels(name)
        #expect([image.height, image.width, 3] == reference.shape)
        #expect(image.pixels == reference.pixels, "max difference \(maximumDifference(image.pixels, reference.pixels))")
    }

    // Measured: 339 of 1296 samples differ, each by exactly 1.
    @Test("16-bit PNG differs from PIL by at most 1 (libpng rounds, PIL keeps the high byte)")
    func sixteenBitPNG() throws {
        let image = try ImageDecoder.decode(file: imageFile("rgb16.png"))
        let reference = try referencePixels("rgb16.png")
        #expect([image.height, image.width, 3] == reference.shape)
        #expect(maximumDifference(image.pixels, reference.pixels) == 1)
    }

    // Measured: every JPEG fixture decodes to exactly PIL's pixels (0 samples differ): both use
    // libjpeg-turbo's accurate integer IDCT and fancy upsampling (the system library is 2.1,
    // PIL bundles 3.x). Other libjpeg builds may differ by a few levels, hence no claim beyond
    // these files.
    @Test(
        "JPEG decodes exactly like PIL (4:2:0, 4:4:4, progressive, greyscale, CMYK, JPEG under a .png name)",
        arguments: ["rgb.jpg", "rgb444.jpg", "progressive.jpg", "grey.jpg", "cmyk.jpg", "jpeg_named.png"])
    func jpegMatchesPIL(name: String) throws {
        let image = try ImageDecoder.decode(file: imageFile(name))
        let reference = try referencePixels(name)
        #expect([image.height, image.width, 3] == reference.shape)
        #expect(image.pixels == reference.pixels, "max difference \(maximumDifference(image.pixels, reference.pixels))")
    }

    @Test("An empty file is refused by name")
    func emptyFile() {
        let file = imageFile("bad_empty.png")
        #expect(throws: CLIPEncoderError.emptyImageFile(path: file.path)) {
            try ImageDecoder.decode(file: file)
        }
    }

    @Test("A file that is not an image is refused by name")
    func notAnImage() {
        let file = imageFile("bad_text.png")
        #expect(throws: CLIPEncoderError.unrecognizedImageFormat(path: file.path)) {
            try ImageDecoder.decode(file: file)
        }
    }

    @Test(
        "Truncated and corrupt data is refused by name",
        arguments: [
            ("bad_truncated.png", "PNG"), ("bad_corrupt.png", "PNG"), ("bad_truncated.jpg", "JPEG"),
            ("bad_header.jpg", "JPEG"),
        ])
    func corruptData(name: String, format: String) {
        let file = imageFile(name)
        do {
            let image = try ImageDecoder.decode(file: file)
            Issue.record("decoded \(name) as \(image.width)×\(image.height)")
        } catch let error as CLIPEncoderError {
            guard case .imageDecodingFailed(let path, let reportedFormat, let reason) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(path == file.path)
            #expect(reportedFormat == format)
            #expect(!reason.isEmpty)
            #expect(error.description.contains(name))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("A header announcing 400 megapixels is refused before decoding", arguments: ["bad_huge.png", "bad_huge.jpg"])
    func oversizedImage(name: String) {
        let file = imageFile(name)
        #expect(
            throws: CLIPEncoderError.imageTooLarge(
                path: file.path, width: 20000, height: 20000, limitPixels: ImageDecoder.defaultMaximumPixelCount)
        ) {
            try ImageDecoder.decode(file: file)
        }
    }

    @Test("The pixel limit is configurable")
    func customLimit() {
        let file = imageFile("rgb.png")
        #expect(throws: CLIPEncoderError.imageTooLarge(path: file.path, width: 64, height: 48, limitPixels: 3000)) {
            try ImageDecoder.decode(file: file, maximumPixelCount: 3000)
        }
    }

    @Test("A missing file is a file access error naming it")
    func missingFile() {
        let file = imageFile("does_not_exist.png")
        do {
            _ = try ImageDecoder.decode(file: file)
            Issue.record("decoded a missing file")
        } catch let error as CLIPEncoderError {
            guard case .fileAccessFailed(let path, _, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(path == file.path)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}

@Suite("CLIP preprocessing")
struct ImagePreprocessingTests {
    // Measured against the reference for every case (sizes 32, 48 and a 300×250 → 224 photo,
    // shrinking and enlarging, crop ties, a crop larger than the resized image, a progressive
    // JPEG input): maximum
    // absolute difference 0 in normalised units, i.e. every resized byte equals PIL's.
    // The reference converts to RGB right after opening (as the dataset loaders of
    // make_image_fixtures.py do), so the RGB image is preprocessed here; the named pipelines'
    // own order is tested in PipelineReferenceTests.
    @Test("Preprocessing an RGB-converted image equals the OpenAI CLIP pipeline on it", arguments: try preprocessingCases())
    fileprivate func matchesReference(testCase: PreprocessingCase) throws {
        let configuration = PreprocessorConfiguration(shortestEdge: testCase.size, cropSize: testCase.crop)
        let preprocessor = ImagePreprocessor(configuration: configuration)
        let actual = preprocessor.preprocess(try ImageDecoder.decode(file: imageFile(testCase.file)))
        let referenceFile = try references()
        let name = "preprocessed.\(testCase.name)"
        #expect(try referenceFile.info(name).shape == [3, testCase.crop, testCase.crop])
        let expected = try referenceFile.floats(name)
        try #require(actual.count == expected.count)
        let differences = zip(actual, expected).map { abs($0 - $1) }
        let maximum = differences.max() ?? 0
        let mismatches = differences.filter { $0 > 0 }.count
        #expect(maximum == 0, "max abs difference \(maximum), \(mismatches) of \(actual.count) values differ")
    }

    @Test("Batch preprocessing stacks single images in order")
    func batch() throws {
        let preprocessor = ImagePreprocessor(configuration: PreprocessorConfiguration(shortestEdge: 32, cropSize: 32))
        let files = [imageFile("rgb.png"), imageFile("cmyk.jpg"), imageFile("tall.png")]
        let batch = try preprocessor.preprocess(files: files)
        #expect(batch.count == 3 * preprocessor.elementsPerImage)
        for (index, file) in files.enumerated() {
            let single = try preprocessor.preprocess(file: file)
            let slice = Array(batch[(index * preprocessor.elementsPerImage)..<((index + 1) * preprocessor.elementsPerImage)])
            #expect(slice == single)
        }
    }

    @Test("Batch preprocessing reports the failing file")
    func batchError() {
        let preprocessor = ImagePreprocessor(configuration: PreprocessorConfiguration(shortestEdge: 32, cropSize: 32))
        let bad = imageFile("bad_text.png")
        #expect(throws: CLIPEncoderError.unrecognizedImageFormat(path: bad.path)) {
            try preprocessor.preprocess(files: [imageFile("rgb.png"), bad])
        }
    }

    @Test("Resize size rule: shorter side to the target, longer side truncated")
    func resizedSizes() {
        // torchvision: new_long = int(size * long / short).
        #expect(ImagePreprocessor.resizedSize(width: 300, height: 250, shortestEdge: 224) == (268, 224))
        #expect(ImagePreprocessor.resizedSize(width: 37, height: 53, shortestEdge: 32) == (32, 45))
        #expect(ImagePreprocessor.resizedSize(width: 20, height: 90, shortestEdge: 32) == (32, 144))
        #expect(ImagePreprocessor.resizedSize(width: 50, height: 50, shortestEdge: 7) == (7, 7))
    }
}

@Suite("JPEG draft decoding against Pillow's Image.draft")
struct JPEGDraftTests {
    // Measured: every case decodes to exactly Pillow's pixels, reductions 1, 2, 4 and 8, odd
    // sides rounded up, 4:2:0, 4:4:4, progressive, greyscale and CMYK, and a PNG left whole.
    @Test("Draft decoding gives Pillow's draft size and pixels", arguments: try cases(\.draft_cases, "draft_cases"))
    fileprivate func matchesPillow(testCase: DraftCase) throws {
        let file = imageFile(testCase.file)
        let image = try ImageDecoder.decode(file: file, draftSide: testCase.side)
        #expect(image.width == testCase.draft_width && image.height == testCase.draft_height,
                "decoded \(image.width)×\(image.height), Pillow \(testCase.draft_width)×\(testCase.draft_height)")
        let reference = try references()
        let name = "draft.\(testCase.file).\(testCase.side)"
        #expect(try reference.info(name).shape == [testCase.draft_height, testCase.draft_width, 3])
        let expected = try reference.bytes(name)
        try #require(image.pixels.count == expected.count)
        let differing = zip(image.pixels, expected).filter { $0 != $1 }.count
        #expect(differing == 0, "\(differing) of \(expected.count) samples differ from Pillow's")
    }

    @Test("The reduction rule is Pillow's: the largest of 8, 4, 2 not above min(width / side, height / side)",
          arguments: try cases(\.draft_cases, "draft_cases").filter { $0.file.hasSuffix(".jpg") })
    fileprivate func reductionRule(testCase: DraftCase) {
        let reduction = JPEGDecoding.draftReduction(width: testCase.width, height: testCase.height, side: testCase.side)
        #expect((testCase.width + reduction - 1) / reduction == testCase.draft_width)
        #expect((testCase.height + reduction - 1) / reduction == testCase.draft_height)
    }

    @Test("Reductions at the edges of the rule")
    func reductionEdges() {
        #expect(JPEGDecoding.draftReduction(width: 2000, height: 1500, side: 224) == 4)  // 1500 / 224 = 6
        #expect(JPEGDecoding.draftReduction(width: 1500, height: 2000, side: 224) == 4)
        #expect(JPEGDecoding.draftReduction(width: 447, height: 447, side: 224) == 1)  // 1.99...: no reduction
        #expect(JPEGDecoding.draftReduction(width: 448, height: 448, side: 224) == 2)
        #expect(JPEGDecoding.draftReduction(width: 8000, height: 8000, side: 224) == 8)  // never beyond 8
        #expect(JPEGDecoding.draftReduction(width: 100, height: 100, side: 0) == 1)
    }

    @Test("Without a draft side a JPEG keeps its full size; the draft side follows the resize mode")
    func fullSizeByDefault() throws {
        let image = try ImageDecoder.decode(file: imageFile("draft_rgb_300x250.jpg"))
        #expect(image.width == 300 && image.height == 250)
        var configuration = PreprocessorConfiguration(shortestEdge: 60, cropSize: 56)
        #expect(configuration.draftSide == nil)
        configuration.jpegDecoding = .draft
        #expect(configuration.draftSide == 60)
        configuration.resizeMode = .squash
        #expect(configuration.draftSide == 56, "squash resizes both sides to the crop")
    }

    // Measured: 0 difference (the decoded pixels are Pillow's and the resize is Pillow's).
    @Test("Preprocessing in draft mode equals Pillow's draft followed by the OpenAI pipeline",
          arguments: try cases(\.draft_preprocess_cases, "draft_preprocess_cases"))
    fileprivate func preprocessing(testCase: PreprocessingCase) throws {
        var configuration = PreprocessorConfiguration(shortestEdge: testCase.size, cropSize: testCase.crop)
        configuration.jpegDecoding = .draft
        let file = imageFile(testCase.file)
        let actual = try ImagePreprocessor(configuration: configuration).preprocess(file: file)
        let expected = try references().floats("draft_preprocessed.\(testCase.name)")
        try #require(actual.count == expected.count)
        let maximum = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(maximum == 0, "max abs difference \(maximum)")
        // The same file at full size gives other values: the fixture exercises a real reduction.
        let full = try ImagePreprocessor(configuration: PreprocessorConfiguration(shortestEdge: testCase.size, cropSize: testCase.crop))
            .preprocess(file: file)
        #expect(full != actual)
        // The batch path decodes the same way.
        #expect(try ImagePreprocessor(configuration: configuration).preprocess(files: [file]) == actual)
    }

    @Test("Draft mode is part of the preprocessing identifier; full decoding keeps the old one")
    func identifier() {
        var configuration = PreprocessorConfiguration()
        let original = configuration.identifier
        configuration.jpegDecoding = .draft
        #expect(configuration.identifier == original + "-jpegdraft")
        configuration.cropRounding = .transformers
        #expect(configuration.identifier == original + "-croptransformers-jpegdraft")
    }

    @Test("The pixel limit applies to the full size in draft mode")
    func pixelLimit() {
        let file = imageFile("draft_rgb_300x250.jpg")
        #expect(throws: CLIPEncoderError.imageTooLarge(path: file.path, width: 300, height: 250, limitPixels: 20_000)) {
            try ImageDecoder.decode(file: file, maximumPixelCount: 20_000, draftSide: 30)
        }
    }
}
