import CLIPEncoder
import Foundation
import Testing

// References from scripts/make_image_fixtures.py: `draft.<file>.<side>` is Pillow's
// `Image.open(f)`, then `image.draft("RGB", (side, side))`, then `.convert("RGB")`;
// `draft_preprocessed.<case>` is OpenAI CLIP's torchvision pipeline after the same draft call.

private let imageFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures").appendingPathComponent("images")

private struct DraftCase: Decodable, CustomStringConvertible {
    let file: String
    let side: Int
    let width: Int
    let height: Int
    let draft_width: Int
    let draft_height: Int
    var description: String { "\(file) for side \(side)" }
}

private struct DraftPreprocessCase: Decodable, CustomStringConvertible {
    let name: String
    let file: String
    let size: Int
    let crop: Int
    var description: String { name }
}

private struct DraftCaseList: Decodable {
    let draft_cases: [DraftCase]
    let draft_preprocess_cases: [DraftPreprocessCase]
}

private func caseList() -> DraftCaseList? {
    guard let data = try? Data(contentsOf: imageFolder.appendingPathComponent("cases.json")) else { return nil }
    return try? JSONDecoder().decode(DraftCaseList.self, from: data)
}

private func references() throws -> SafeTensorsFile {
    try SafeTensorsFile(url: imageFolder.appendingPathComponent("references.safetensors"))
}

@Suite("JPEG draft decoding against Pillow's Image.draft")
struct JPEGDraftTests {
    // Measured: every case decodes to exactly Pillow's pixels, reductions 1, 2, 4 and 8, odd
    // sides rounded up, 4:2:0, 4:4:4, progressive, greyscale and CMYK, and a PNG left whole.
    @Test("Draft decoding gives Pillow's draft size and pixels", arguments: caseList()?.draft_cases ?? [])
    fileprivate func matchesPillow(testCase: DraftCase) throws {
        let file = imageFolder.appendingPathComponent(testCase.file)
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
          arguments: caseList()?.draft_cases.filter { $0.file.hasSuffix(".jpg") } ?? [])
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
        let image = try ImageDecoder.decode(file: imageFolder.appendingPathComponent("draft_rgb_300x250.jpg"))
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
          arguments: caseList()?.draft_preprocess_cases ?? [])
    fileprivate func preprocessing(testCase: DraftPreprocessCase) throws {
        var configuration = PreprocessorConfiguration(shortestEdge: testCase.size, cropSize: testCase.crop)
        configuration.jpegDecoding = .draft
        let file = imageFolder.appendingPathComponent(testCase.file)
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
        let file = imageFolder.appendingPathComponent("draft_rgb_300x250.jpg")
        #expect(throws: CLIPEncoderError.imageTooLarge(path: file.path, width: 300, height: 250, limitPixels: 20_000)) {
            try ImageDecoder.decode(file: file, maximumPixelCount: 20_000, draftSide: 30)
        }
    }
}
