import FileIntegrity
import Foundation
import Support

/// The vocabulary and merge ranks of a byte-level BPE model, resolved to token ids.
struct BytePairVocabulary: Sendable {
    /// One merge rule resolved to ids: its priority (lower merges first) and the merged token.
    struct Merge: Sendable {
        var rank: Int32
        var merged: Int32
    }

    /// Spelling of the start-of-text token.
    static let startOfTextToken = "<|startoftext|>"
    /// Spelling of the end-of-text token.
    static let endOfTextToken = "<|endoftext|>"
    /// Suffix marking the last symbol of a word.
    static let endOfWord = "</w>"
    /// How many merges of OpenAI's merges file the vocabulary uses: 49408 − 512 − 2.
    static let openAIMergeCount = 49152 - 256 - 2

    /// Token string → id.
    let tokenIds: [String: Int32]
    /// The merge rules in rank order, as symbol pairs.
    let mergePairs: [(String, String)]
    /// Id of the token for each byte value (not word-final).
    let byteTokenIds: [Int32]
    /// Id of the word-final token (`</w>` suffix) for each byte value.
    let byteEndTokenIds: [Int32]
    /// Merge rules keyed by ``pairKey(_:_:)`` of the two symbol ids.
    let merges: [UInt64: Merge]
    let startOfText: Int32
    let endOfText: Int32
    /// One more than the largest id.
    let size: Int

    /// The key of an adjacent symbol pair in ``merges``.
    @inline(__always)
    static func pairKey(_ first: Int32, _ second: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: first)) << 32 | UInt64(UInt32(bitPattern: second))
    }

    /// Resolves a vocabulary and merge list to ids.
    ///
    /// - Parameters:
    ///   - tokenIds: token string → id.
    ///   - mergePairs: merge rules in rank order, with the 1-based file line of each.
    ///   - vocabularyPath: the file the vocabulary came from, for error messages.
    ///   - mergesPath: the file the merges came from, for error messages.
    /// - Throws: ``TokenizerError/missingToken(path:token:context:)`` when a byte token, a merge
    ///   part or result, or a special token is absent.
    init(
        tokenIds: [String: Int32], mergePairs: [(first: String, second: String, line: Int)],
        vocabularyPath: String, mergesPath: String
    ) throws {
        try Self.requireBijection(tokenIds, path: vocabularyPath)
        func id(_ token: String, _ context: @autoclosure () -> String, path: String) throws -> Int32 {
            guard let value = tokenIds[token] else {
                throw TokenizerError.missingToken(path: path, token: token, context: context())
            }
            return value
        }
        var byteIds = [Int32](repeating: 0, count: 256)
        var byteEndIds = [Int32](repeating: 0, count: 256)
        for byte in 0..<256 {
            let character = String(ByteLevelAlphabet.characterForByte[byte])
            byteIds[byte] = try id(character, "byte \(byte)", path: vocabularyPath)
            byteEndIds[byte] = try id(character + Self.endOfWord, "word-final byte \(byte)", path: vocabularyPath)
        }
        var table = [UInt64: Merge](minimumCapacity: mergePairs.count)
        for (rank, pair) in mergePairs.enumerated() {
            let context = "merge on line \(pair.line) of \(mergesPath)"
            let first = try id(pair.first, context, path: vocabularyPath)
            let second = try id(pair.second, context, path: vocabularyPath)
            let merged = try id(pair.first + pair.second, context, path: vocabularyPath)
            // A repeated rule keeps its last rank, as a dictionary built in file order does.
            table[Self.pairKey(first, second)] = Merge(rank: Int32(rank), merged: merged)
        }
        self.tokenIds = tokenIds
        self.size = Int(tokenIds.values.max() ?? -1) + 1
        self.mergePairs = mergePairs.map { ($0.first, $0.second) }
        self.byteTokenIds = byteIds
        self.byteEndTokenIds = byteEndIds
        self.merges = table
        self.startOfText = try id(Self.startOfTextToken, "start of text", path: vocabularyPath)
        self.endOfText = try id(Self.endOfTextToken, "end of text", path: vocabularyPath)
    }

    /// Loads OpenAI's `bpe_simple_vocab_16e6.txt.gz` and derives the vocabulary from its merges.
    ///
    /// The vocabulary is the 256 byte characters, the same with `</w>`, the first 48894 merges
    /// joined, then `<|startoftext|>` and `<|endoftext|>`, numbered in that order.
    static func openAI(mergesFile url: URL) throws -> BytePairVocabulary {
        let path = url.path
        let compressed = try readFile(url)
        let data: Data
        do {
            data = try Gzip.decompress(compressed)
        } catch {
            throw TokenizerError.corruptGzip(path: path, reason: ReadableError.reason(error))
        }
        guard let text = String(data: data, encoding: .utf8) else { throw TokenizerError.notUTF8(path: path) }
        // Only the header and the merges in use are split off; the rest of the file stays whole.
        let lines = text.split(separator: "\n", maxSplits: openAIMergeCount + 1, omittingEmptySubsequences: false)
        // Line 1 is a version header; the merges follow.
        let available = max(0, lines.count - 1)
        guard available >= openAIMergeCount else {
            throw TokenizerError.tooFewMerges(path: path, expected: openAIMergeCount, actual: available)
        }
        var pairs: [(first: String, second: String, line: Int)] = []
        pairs.reserveCapacity(openAIMergeCount)
        for index in 1...openAIMergeCount {
            pairs.append(try parseMergeLine(lines[index], line: index + 1, path: path))
        }
        var tokens: [String] = []
        tokens.reserveCapacity(49408)
        let byteCharacters = ByteLevelAlphabet.bytesInOrder.map { String(ByteLevelAlphabet.characterForByte[Int($0)]) }
        tokens += byteCharacters
        tokens += byteCharacters.map { $0 + endOfWord }
        tokens += pairs.map { $0.first + $0.second }
        tokens += [startOfTextToken, endOfTextToken]
        var ids = [String: Int32](minimumCapacity: tokens.count)
        // A repeated token keeps its last id, as a dictionary built in order does.
        for (index, token) in tokens.enumerated() { ids[token] = Int32(index) }
        return try BytePairVocabulary(tokenIds: ids, mergePairs: pairs, vocabularyPath: path, mergesPath: path)
    }

    /// Refuses a vocabulary that is not a one-to-one map of its tokens onto `0..<count`: two
    /// tokens with one id would decode ambiguously and make the model read one embedding row for
    /// both, a negative id indexes nothing, and a gap means ids from another vocabulary.
    /// - Throws: ``TokenizerError/invalidVocabulary(path:reason:)`` naming the tokens or the id.
    static func requireBijection(_ tokenIds: [String: Int32], path: String) throws {
        var tokenForId = [Int32: String](minimumCapacity: tokenIds.count)
        for (token, id) in tokenIds.sorted(by: { $0.key < $1.key }) {
            guard id >= 0 else {
                throw TokenizerError.invalidVocabulary(path: path, reason: "token \"\(token)\" has the negative id \(id)")
            }
            if let other = tokenForId[id] {
                throw TokenizerError.invalidVocabulary(
                    path: path, reason: "tokens \"\(other)\" and \"\(token)\" share the id \(id): each id must name one token")
            }
            tokenForId[id] = token
        }
        if let largest = tokenForId.keys.max(), Int(largest) >= tokenIds.count {
            let missing = (0..<largest).first { tokenForId[$0] == nil } ?? largest
            throw TokenizerError.invalidVocabulary(
                path: path, reason: "\(tokenIds.count) tokens with ids up to \(largest): no token has the id \(missing) (ids must be 0 to \(tokenIds.count - 1))")
        }
    }

    /// Loads Hugging Face `vocab.json` (token → id) and `merges.txt` (`#version` header optional).
    static func huggingFace(vocabularyFile: URL, mergesFile: URL) throws -> BytePairVocabulary {
        let vocabularyPath = vocabularyFile.path
        let mergesPath = mergesFile.path
        let ids = try parseVocabularyJSON(try readFile(vocabularyFile), path: vocabularyPath)
        guard let text = String(data: try readFile(mergesFile), encoding: .utf8) else {
            throw TokenizerError.notUTF8(path: mergesPath)
        }
        var pairs: [(first: String, second: String, line: Int)] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            if trimmed.isEmpty || (index == 0 && trimmed.hasPrefix("#version")) { continue }
            pairs.append(try parseMergeLine(trimmed, line: index + 1, path: mergesPath))
        }
        // Without merges every word would fall apart into single characters: silently other ids.
        guard !pairs.isEmpty else { throw TokenizerError.tooFewMerges(path: mergesPath, expected: 1, actual: 0) }
        return try BytePairVocabulary(
            tokenIds: ids, mergePairs: pairs, vocabularyPath: vocabularyPath, mergesPath: mergesPath)
    }

    private static func readFile(_ url: URL) throws -> Data {
        try RegularFile.require(url)
        do {
            return try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? ReadableError.reason(error) : "no such file"
            throw TokenizerError.unreadableFile(path: url.path, reason: reason)
        }
    }

    private static func parseMergeLine(
        _ line: Substring, line number: Int, path: String
    ) throws -> (first: String, second: String, line: Int) {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2 else {
            throw TokenizerError.invalidMergesLine(path: path, line: number, content: String(line.prefix(80)))
        }
        return (String(parts[0]), String(parts[1]), number)
    }

    private static func parseVocabularyJSON(_ data: Data, path: String) throws -> [String: Int32] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw TokenizerError.invalidVocabulary(path: path, reason: "not valid JSON (\(ReadableError.reason(error)))")
        }
        guard let dictionary = object as? [String: Any] else {
            throw TokenizerError.invalidVocabulary(path: path, reason: "the top level is not an object")
        }
        var ids = [String: Int32](minimumCapacity: dictionary.count)
        for (token, value) in dictionary {
            guard let number = value as? NSNumber, let id = Int32(exactly: number.doubleValue), id >= 0 else {
                throw TokenizerError.invalidVocabulary(
                    path: path, reason: "the id of token \"\(token)\" is \(value), not a non-negative integer")
            }
            ids[token] = id
        }
        return ids
    }
}
