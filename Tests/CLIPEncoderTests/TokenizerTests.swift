import CLIPEncoder
import Foundation
import Support
import TestSupport
import Testing

/// The reference corpus written by scripts/make_tokenizer_fixtures.py.
private struct TokenizerCorpus: Decodable {
    struct MergesFile: Decodable {
        let decompressedBytes: Int
        let lineCount: Int
        let firstLine: String
        let lastUsedLine: String
    }

    struct Entry: Decodable {
        let category: String
        let text: String
        /// OpenAI's ids with `truncate=True`, without the zero padding.
        let storedIDs: [Int32]
        /// Whether OpenAI's tokenizer raises without truncation.
        let tooLong: Bool
        /// Token count with start and end tokens, before truncation.
        let tokenCount: Int
        /// The reference's ids with ftfy's mojibake repair off, where that repair changes them.
        let storedIDsWithoutEncodingFix: [Int32]?

        enum CodingKeys: String, CodingKey {
            case category, text, tooLong, tokenCount
            case storedIDs = "ids"
            case storedIDsWithoutEncodingFix = "idsWithoutEncodingFix"
        }

        /// OpenAI's row with `truncate=True`: `[77]`, zero-padded as the reference pads.
        var ids: [Int32] { padded(storedIDs) }
        /// The reference's row with ftfy's mojibake repair off, where that repair changes it.
        var idsWithoutEncodingFix: [Int32]? { storedIDsWithoutEncodingFix.map(padded) }
        /// The row this tokenizer must give (it does not repair mojibake).
        var expected: [Int32] { idsWithoutEncodingFix ?? ids }

        private func padded(_ row: [Int32]) -> [Int32] {
            row + Array(repeating: 0, count: max(0, 77 - row.count))
        }
    }

    let contextLength: Int
    let startOfText: Int32
    let endOfText: Int32
    let mergesFile: MergesFile
    let entries: [Entry]
}

private enum TokenizerFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent("tokenizer")
    static let mergesFile = directory.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")

    static let corpus: Result<TokenizerCorpus, any Error> = Result {
        let data = try Data(contentsOf: directory.appendingPathComponent("corpus.json"))
        return try JSONDecoder().decode(TokenizerCorpus.self, from: data)
    }

    static let tokenizer: Result<CLIPTokenizer, any Error> = Result {
        try CLIPTokenizer(openAIMergesFile: mergesFile)
    }

    /// A gzip file holding `payload` in one stored (uncompressed) deflate block.
    static func storedGzip(_ payload: [UInt8]) -> Data {
        var bytes: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xFF]
        let length = UInt16(payload.count)
        bytes += [0x01, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
        bytes += payload
        let checksum = crc32(payload)
        let size = UInt32(payload.count)
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((checksum >> UInt32(shift)) & 0xFF)) }
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((size >> UInt32(shift)) & 0xFF)) }
        return Data(bytes)
    }

    private static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

/// Describes the first mismatches of a corpus comparison.
private func describe(_ failures: [(text: String, expected: [Int32], actual: [Int32])]) -> String {
    failures.prefix(8).map { failure in
        let expected = failure.expected.filter { $0 != 0 }
        let actual = failure.actual.filter { $0 != 0 }
        return "\(failure.text.debugDescription): expected \(expected), got \(actual)"
    }.joined(separator: "\n")
}

@Suite("CLIP tokenizer")
struct TokenizerTests {
    @Test("every corpus string gives OpenAI's ids")
    func corpusMatchesReference() throws {
        let corpus = try TokenizerFixtures.corpus.get()
        let tokenizer = try TokenizerFixtures.tokenizer.get()
        #expect(corpus.entries.count >= 1000)
        var failures: [(text: String, expected: [Int32], actual: [Int32])] = []
        var repairedMojibakeMatches = 0
        var repairedMojibakeCount = 0
        for entry in corpus.entries {
            let actual = try tokenizer.tokenize([entry.text], contextLength: corpus.contextLength, truncate: true)[0]
            if actual != entry.expected { failures.append((entry.text, entry.expected, actual)) }
            if entry.idsWithoutEncodingFix != nil {
                repairedMojibakeCount += 1
                if actual == entry.ids { repairedMojibakeMatches += 1 }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(corpus.entries.count) differ:\n\(describe(failures))")
        // Strings whose ids ftfy's heuristic mojibake repair changes are held to the reference
        // without that repair; none of them can match the repaired ids.
        #expect(repairedMojibakeCount == 10)
        #expect(repairedMojibakeMatches == 0)
        print("tokenizer corpus: \(corpus.entries.count - failures.count) of \(corpus.entries.count) match; "
            + "\(repairedMojibakeCount) mojibake strings follow the reference without mojibake repair")
    }

    @Test("the OpenAI merges file decompresses to the expected text")
    func gzipDecompressesMergesFile() throws {
        let corpus = try TokenizerFixtures.corpus.get()
        let data = try Gzip.decompress(try Data(contentsOf: TokenizerFixtures.mergesFile))
        #expect(data.count == corpus.mergesFile.decompressedBytes)
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == corpus.mergesFile.lineCount)
        #expect(lines.first.map(String.init) == corpus.mergesFile.firstLine)
        #expect(String(lines[48894]) == corpus.mergesFile.lastUsedLine)
    }

    @Test("gzip: stored blocks, concatenated members, truncation and garbage")
    func gzipEdgeCases() throws {
        let payload = Array("hello, gzip\n".utf8)
        let single = TokenizerFixtures.storedGzip(payload)
        #expect(try Gzip.decompress(single) == Data(payload))
        let twice = single + TokenizerFixtures.storedGzip(Array("again".utf8))
        #expect(try Gzip.decompress(twice) == Data(payload + Array("again".utf8)))
        #expect(throws: GzipError.self) { try Gzip.decompress(single.prefix(single.count - 6)) }
        #expect(throws: GzipError.self) { try Gzip.decompress(Data("not gzip at all".utf8)) }
        #expect(throws: GzipError.self) { try Gzip.decompress(Data()) }
    }

    @Test("Hugging Face files written from the merges load back to the same ids")
    func huggingFaceRoundTrip() throws {
        let corpus = try TokenizerFixtures.corpus.get()
        let openAI = try TokenizerFixtures.tokenizer.get()
        let directory = try TemporaryFolder.create("clip-tokenizer-tests")
        defer { try? FileManager.default.removeItem(at: directory) }
        try openAI.writeHuggingFaceFiles(to: directory)
        let huggingFace = try CLIPTokenizer(
            vocabularyFile: directory.appendingPathComponent("vocab.json"),
            mergesFile: directory.appendingPathComponent("merges.txt"))
        #expect(huggingFace.vocabularySize == 49408)
        #expect(openAI.vocabularySize == 49408)
        #expect(huggingFace.startOfTextToken == corpus.startOfText)
        #expect(huggingFace.endOfTextToken == corpus.endOfText)
        #expect(openAI.startOfTextToken == corpus.startOfText)
        #expect(openAI.endOfTextToken == corpus.endOfText)
        let texts = corpus.entries.map(\.text)
        let fromHuggingFace = try huggingFace.tokenize(texts, truncate: true)
        let fromOpenAI = try openAI.tokenize(texts, truncate: true)
        let differing = zip(fromHuggingFace, fromOpenAI).filter { $0.0 != $0.1 }.count
        #expect(differing == 0, "\(differing) of \(texts.count) rows differ between the two loading paths")
        let wrong = zip(fromHuggingFace, corpus.entries).filter { $0.0 != $0.1.expected }.map(\.1.text)
        #expect(wrong.isEmpty, "differ from the reference: \(wrong.prefix(8))")

        // The merges file keeps the header and one line per merge.
        let merges = try String(contentsOf: directory.appendingPathComponent("merges.txt"), encoding: .utf8)
        let lines = merges.split(separator: "\n")
        #expect(lines.first == "#version: 0.2")
        #expect(lines.count == 48894 + 1)
        #expect(String(lines[48894]) == corpus.mergesFile.lastUsedLine)
    }

    @Test("rows are [SOT] tokens [EOT] then zeros, for any context length")
    func paddingAndSpecialTokens() throws {
        let corpus = try TokenizerFixtures.corpus.get()
        let tokenizer = try TokenizerFixtures.tokenizer.get()
        let entries = corpus.entries.filter { $0.category == "prompt_OxfordPets" }
        #expect(entries.count == 37)
        let rows = try tokenizer.tokenize(entries.map(\.text))
        for (row, entry) in zip(rows, entries) {
            #expect(row.count == 77)
            #expect(row[0] == corpus.startOfText)
            #expect(row[entry.tokenCount - 1] == corpus.endOfText)
            #expect(row[entry.tokenCount...].allSatisfy { $0 == 0 })
            #expect(row == entry.ids)
            #expect(Array(row[1..<(entry.tokenCount - 1)]) == tokenizer.encode(entry.text))
        }
        // A shorter context: the reference's row cut to 10 with the end token last, or padded.
        for entry in corpus.entries.prefix(200) where !entry.tooLong && entry.idsWithoutEncodingFix == nil {
            let row = try tokenizer.tokenize([entry.text], contextLength: 10, truncate: true)[0]
            let expected = entry.tokenCount > 10
                ? Array(entry.ids[0..<9]) + [corpus.endOfText] : Array(entry.ids[0..<10])
            #expect(row == expected, "\(entry.text)")
        }
        #expect(try tokenizer.tokenize([]) == [])
        #expect(try tokenizer.tokenize([""]) == [[corpus.startOfText, corpus.endOfText] + Array(repeating: 0, count: 75)])
        #expect(throws: TokenizerError.invalidContextLength(1)) { try tokenizer.tokenize(["a"], contextLength: 1) }
    }

    @Test("over-long texts throw naming the text and count, or are truncated keeping EOT")
    func overLongTexts() throws {
        let corpus = try TokenizerFixtures.corpus.get()
        let tokenizer = try TokenizerFixtures.tokenizer.get()
        let tooLong = corpus.entries.filter(\.tooLong)
        #expect(tooLong.count == 5)
        for entry in tooLong {
            #expect(entry.tokenCount > 77)
            do {
                _ = try tokenizer.tokenize(["fits", entry.text])
                Issue.record("no error for \(entry.text.debugDescription)")
            } catch let error as TokenizerError {
                guard case .textTooLong(let text, let count, let length) = error else {
                    Issue.record("unexpected error \(error)")
                    continue
                }
                #expect(count == entry.tokenCount)
                #expect(length == 77)
                #expect(entry.text.hasPrefix(text.hasSuffix("…") ? String(text.dropLast()) : text))
                #expect(text.count <= 61)
                #expect(error.description.contains("\(entry.tokenCount) tokens"))
            }
            let truncated = try tokenizer.tokenize([entry.text], truncate: true)[0]
            #expect(truncated == entry.ids)
            #expect(truncated.last == corpus.endOfText)
        }
        // Exactly 77 tokens fit; one more does not.
        let fits = try #require(corpus.entries.first { $0.category == "long_fits_75" })
        #expect(fits.tokenCount == 77 && !fits.tooLong)
        #expect(try tokenizer.tokenize([fits.text]) == [fits.ids])
        let over = try #require(corpus.entries.first { $0.category == "long_too_long_76" })
        #expect(over.tokenCount == 78 && over.tooLong)
        #expect(throws: TokenizerError.self) { try tokenizer.tokenize([over.text]) }
    }

    @Test("malformed or missing files give errors naming the file")
    func malformedFiles() throws {
        let directory = try TemporaryFolder.create("clip-tokenizer-tests")
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("missing.txt.gz")
        #expect(throws: TokenizerError.unreadableFile(path: missing.path, reason: "no such file")) {
            try CLIPTokenizer(openAIMergesFile: missing)
        }

        // Not gzip.
        let notGzip = directory.appendingPathComponent("plain.txt.gz")
        try Data("#version\na b\n".utf8).write(to: notGzip)
        expectError(mentioning: notGzip.path) { try CLIPTokenizer(openAIMergesFile: notGzip) }

        // Gzip with too few merges.
        let short = directory.appendingPathComponent("short.txt.gz")
        try TokenizerFixtures.storedGzip(Array("#version: 0.2\nt h\nth e</w>\n".utf8)).write(to: short)
        #expect(throws: TokenizerError.tooFewMerges(path: short.path, expected: 48894, actual: 3)) {
            try CLIPTokenizer(openAIMergesFile: short)
        }

        // Hugging Face files derived from the fixture, then damaged.
        try TokenizerFixtures.tokenizer.get().writeHuggingFaceFiles(to: directory)
        let vocabulary = directory.appendingPathComponent("vocab.json")
        let merges = directory.appendingPathComponent("merges.txt")
        let validMerges = try String(contentsOf: merges, encoding: .utf8)

        #expect(throws: TokenizerError.unreadableFile(path: missing.path, reason: "no such file")) {
            try CLIPTokenizer(vocabularyFile: missing, mergesFile: merges)
        }
        #expect(throws: TokenizerError.unreadableFile(path: missing.path, reason: "no such file")) {
            try CLIPTokenizer(vocabularyFile: vocabulary, mergesFile: missing)
        }

        let badJSON = directory.appendingPathComponent("bad.json")
        try Data("{\"a\": 1,".utf8).write(to: badJSON)
        expectError(mentioning: badJSON.path) { try CLIPTokenizer(vocabularyFile: badJSON, mergesFile: merges) }

        let arrayJSON = directory.appendingPathComponent("array.json")
        try Data("[1, 2, 3]".utf8).write(to: arrayJSON)
        expectError(mentioning: arrayJSON.path) { try CLIPTokenizer(vocabularyFile: arrayJSON, mergesFile: merges) }

        let stringIDs = directory.appendingPathComponent("strings.json")
        try Data("{\"a\": \"one\"}".utf8).write(to: stringIDs)
        expectError(mentioning: stringIDs.path) { try CLIPTokenizer(vocabularyFile: stringIDs, mergesFile: merges) }

        var lines = validMerges.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[3] = "three parts here"
        let badMerges = directory.appendingPathComponent("bad-merges.txt")
        try Data(lines.joined(separator: "\n").utf8).write(to: badMerges)
        #expect(throws: TokenizerError.invalidMergesLine(path: badMerges.path, line: 4, content: "three parts here")) {
            try CLIPTokenizer(vocabularyFile: vocabulary, mergesFile: badMerges)
        }

        lines[3] = "zzzq qqqz"
        let unknownMerge = directory.appendingPathComponent("unknown-merge.txt")
        try Data(lines.joined(separator: "\n").utf8).write(to: unknownMerge)
        expectError(mentioning: vocabulary.path) { try CLIPTokenizer(vocabularyFile: vocabulary, mergesFile: unknownMerge) }
        expectError(mentioning: "line 4") { try CLIPTokenizer(vocabularyFile: vocabulary, mergesFile: unknownMerge) }
    }

    @Test("10,000 class-name prompts tokenise quickly")
    func speed() throws {
        let corpus = try TokenizerFixtures.corpus.get()
        let prompts = corpus.entries.filter { $0.category.hasPrefix("prompt_") }.map(\.text)
        var texts: [String] = []
        while texts.count < 10_000 { texts += prompts.map { $0 + " " + String(texts.count % 97) } }
        texts = Array(texts.prefix(10_000))
        let clock = ContinuousClock()
        var loaded: CLIPTokenizer?
        let loading = try clock.measure { loaded = try CLIPTokenizer(openAIMergesFile: TokenizerFixtures.mergesFile) }
        let tokenizer = try #require(loaded)
        print("tokenizer: loaded the OpenAI merges file in \(loading)")
        var rows: [[Int32]] = []
        let elapsed = try clock.measure { rows = try tokenizer.tokenize(texts) }
        #expect(rows.count == 10_000)
        print("tokenizer: 10,000 prompts in \(elapsed)")
        #expect(elapsed < .seconds(20))
    }
}

/// Expects `body` to throw a ``TokenizerError`` whose description contains `fragment`.
private func expectError(
    mentioning fragment: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> some Any
) {
    do {
        _ = try body()
        Issue.record("expected an error mentioning \(fragment)", sourceLocation: sourceLocation)
    } catch let error as TokenizerError {
        #expect(error.description.contains(fragment), "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
    }
}
