import Foundation

/// CLIP's byte-level BPE tokenizer, giving the token ids of OpenAI's own tokenizer.
///
/// Matches OpenAI's `simple_tokenizer.py` (the `clip` package; open_clip carries a copy) with
/// its default cleaning: ftfy-style repair, `html.unescape` applied twice, whitespace collapsed
/// and stripped, lower-casing; then CLIP's splitting pattern, the byte-to-character mapping and
/// BPE with `</w>` word ends. Sequences are `[SOT] tokens [EOT]`, zero-padded. Checked against
/// that reference on a corpus of prompts, scripts, emoji, HTML entities and random strings.
///
/// Known differences from the reference:
/// - **Mojibake repair.** The reference runs `ftfy.fix_text`, which also guesses at text decoded
///   in the wrong encoding (`sÃ³` → `só`) by heuristics. Those guesses are not reproduced; all
///   of ftfy's deterministic fixes are (see ``TextRepair``), so text without mojibake, and
///   mojibake that ftfy leaves alone, tokenises identically. Mojibake ftfy repairs is tokenised
///   as written, like the reference with `fix_encoding=False`.
/// - **Unicode versions.** Character classes, case mappings and normalisation come from the
///   Swift runtime's Unicode tables, the reference's from Python's and the `regex` module's; they
///   can disagree on characters assigned in recent Unicode versions.
/// - **Lone surrogates** cannot occur in a Swift `String`, so the repair of them does not apply.
///
/// transformers' `CLIPTokenizer` is not the reference: it skips ftfy and HTML unescaping, so it
/// differs on HTML entities, curly quotes, fullwidth forms, ligatures and control characters, and
/// it pads with the end token rather than 0.
public struct CLIPTokenizer: Sendable {
    /// The context length of every released CLIP model.
    public static let defaultContextLength = 77

    private let encoder: BytePairEncoder

    /// Id of `<|startoftext|>` (49406 in CLIP's vocabulary).
    public var startOfTextToken: Int32 { encoder.vocabulary.startOfText }
    /// Id of `<|endoftext|>` (49407 in CLIP's vocabulary); the text tower pools at its position.
    public var endOfTextToken: Int32 { encoder.vocabulary.endOfText }
    /// Number of token ids (one more than the largest id): 49408 for CLIP.
    public var vocabularySize: Int { encoder.vocabulary.size }

    /// Loads Hugging Face tokenizer files.
    ///
    /// - Parameters:
    ///   - vocabularyFile: `vocab.json`, a JSON object of token string → id.
    ///   - mergesFile: `merges.txt`, one `first second` merge per line in priority order, after an
    ///     optional `#version` header.
    /// - Throws: ``TokenizerError`` naming the file when one is missing or malformed, or when a
    ///   token the merges or specials need is not in the vocabulary.
    public init(vocabularyFile: URL, mergesFile: URL) throws {
        encoder = BytePairEncoder(
            vocabulary: try BytePairVocabulary.huggingFace(vocabularyFile: vocabularyFile, mergesFile: mergesFile))
    }

    /// Loads OpenAI's `bpe_simple_vocab_16e6.txt.gz`, deriving the vocabulary from its merges.
    ///
    /// The vocabulary is the 256 byte characters, the same with `</w>`, the first 48894 merges
    /// (lines 2…48895) joined, then `<|startoftext|>` and `<|endoftext|>`: 49408 tokens.
    /// - Throws: ``TokenizerError`` naming the file when it is missing, not gzip, or malformed.
    public init(openAIMergesFile: URL) throws {
        encoder = BytePairEncoder(vocabulary: try BytePairVocabulary.openAI(mergesFile: openAIMergesFile))
    }

    /// The token ids of one text, without start and end tokens.
    ///
    /// `<|startoftext|>` and `<|endoftext|>` written in the text become their special ids, as in
    /// the reference.
    public func encode(_ text: String) -> [Int32] {
        let scalars = TextCleaner.clean(text)
        var ids: [Int32] = []
        ids.reserveCapacity(scalars.count / 3 + 4)
        var bytes: [UInt8] = []
        for piece in PreTokenizer.pieces(of: scalars) {
            switch piece {
            case .special(let isStart):
                ids.append(isStart ? startOfTextToken : endOfTextToken)
            case .text(let range):
                bytes.removeAll(keepingCapacity: true)
                for scalar in scalars[range] { bytes.append(contentsOf: scalar.utf8) }
                encoder.encode(bytes: bytes, into: &ids)
            }
        }
        return ids
    }

    /// Token ids of a batch of texts, each `[SOT] tokens [EOT]` zero-padded to `contextLength`.
    ///
    /// - Parameters:
    ///   - texts: the texts, `batch` of them.
    ///   - contextLength: the length of every row (77 for CLIP).
    ///   - truncate: cut texts that do not fit, keeping the end token as the last token.
    /// - Returns: `[batch, contextLength]` ids.
    /// - Throws: ``TokenizerError/textTooLong(text:tokenCount:contextLength:)`` for the first text
    ///   that does not fit when `truncate` is false; ``TokenizerError/invalidContextLength(_:)``
    ///   when `contextLength` < 2.
    public func tokenize(
        _ texts: [String], contextLength: Int = CLIPTokenizer.defaultContextLength, truncate: Bool = false
    ) throws -> [[Int32]] {
        guard contextLength >= 2 else { throw TokenizerError.invalidContextLength(contextLength) }
        return try texts.map { text in
            var row = [startOfTextToken] + encode(text) + [endOfTextToken]
            if row.count > contextLength {
                guard truncate else {
                    throw TokenizerError.textTooLong(
                        text: Self.shortened(text), tokenCount: row.count, contextLength: contextLength)
                }
                row.removeLast(row.count - contextLength)
                row[contextLength - 1] = endOfTextToken
            }
            row += repeatElement(0, count: contextLength - row.count)
            return row
        }
    }

    /// `text` cut to 60 characters with an ellipsis, for error messages.
    static func shortened(_ text: String) -> String {
        text.count <= 60 ? text : String(text.prefix(60)) + "…"
    }

    /// The vocabulary in id order and the merges in rank order, for writing files.
    var vocabularyByID: [(token: String, id: Int32)] {
        encoder.vocabulary.tokenIds.map { (token: $0.key, id: $0.value) }.sorted { $0.id < $1.id }
    }

    var mergePairs: [(String, String)] { encoder.vocabulary.mergePairs }
}
