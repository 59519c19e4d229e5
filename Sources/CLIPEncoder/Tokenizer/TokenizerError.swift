/// Why a CLIP tokenizer could not be loaded, written, or could not tokenise a text.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// A file could not be read.
    case unreadableFile(path: String, reason: String)
    /// A file could not be written.
    case unwritableFile(path: String, reason: String)
    /// The gzip-compressed merges file could not be decompressed.
    case corruptGzip(path: String, reason: String)
    /// A file is not UTF-8 text.
    case notUTF8(path: String)
    /// `vocab.json` is not a JSON object mapping token strings to integer ids.
    case invalidVocabulary(path: String, reason: String)
    /// A merges line is not two symbols separated by a space (`line` counts from 1).
    case invalidMergesLine(path: String, line: Int, content: String)
    /// The merges file holds fewer merges than the vocabulary needs.
    case tooFewMerges(path: String, expected: Int, actual: Int)
    /// A token the tokenizer needs is absent from the vocabulary (`context` says which use).
    case missingToken(path: String, token: String, context: String)
    /// A text gives more tokens (start and end tokens included) than the context holds.
    case textTooLong(text: String, tokenCount: Int, contextLength: Int)
    /// The context cannot hold the start and end tokens.
    case invalidContextLength(Int)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "tokenizer: cannot read \(path): \(reason)"
        case .unwritableFile(let path, let reason):
            return "tokenizer: cannot write \(path): \(reason)"
        case .corruptGzip(let path, let reason):
            return "tokenizer: \(path) is not a valid gzip file: \(reason)"
        case .notUTF8(let path):
            return "tokenizer: \(path) is not UTF-8 text"
        case .invalidVocabulary(let path, let reason):
            return "tokenizer: \(path) is not a vocabulary (JSON object of token to id): \(reason)"
        case .invalidMergesLine(let path, let line, let content):
            return "tokenizer: \(path) line \(line): expected two symbols separated by a space, found \"\(content)\""
        case .tooFewMerges(let path, let expected, let actual):
            return "tokenizer: \(path) holds \(actual) merges, expected at least \(expected)"
        case .missingToken(let path, let token, let context):
            return "tokenizer: token \"\(token)\" (\(context)) is missing from the vocabulary of \(path)"
        case .textTooLong(let text, let tokenCount, let contextLength):
            return "tokenizer: text \"\(text)\" gives \(tokenCount) tokens with start and end, "
                + "more than the context length \(contextLength); shorten it or enable truncation"
        case .invalidContextLength(let length):
            return "tokenizer: context length \(length) cannot hold the start and end tokens (needs at least 2)"
        }
    }
}
