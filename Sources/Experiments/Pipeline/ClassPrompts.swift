import CLIPEncoder
import Datasets
import Foundation
import Support

/// The text classifier's prompts (every template filled with every class name), tokenised and
/// checked before anything is encoded: nothing is cut or collapsed silently.
///
/// - A class name that is empty (or only white space), or that appears twice, is refused.
/// - A prompt longer than the model's context is refused naming the class, the template and its
///   token count, unless `prompts.truncate` is set; then each cut prompt is warned about.
/// - Two classes whose prompts give the same token ids (so the same text embeddings, for
///   example after truncation) are refused naming both: their scores could never differ.
public struct ClassPrompts: Sendable {
    /// `[classes × templates]` rows of `contextLength` token ids, class-major.
    public let tokens: [[Int32]]
    /// One line per prompt that was cut (empty unless `truncate`).
    public let warnings: [String]

    /// Tokenises and checks the prompts of `classNames` for `templates`.
    /// - Parameters:
    ///   - classNames: the dataset's class names, in label order.
    ///   - templates: the configured templates, each with one `{}`.
    ///   - tokenizer: the model's tokenizer.
    ///   - contextLength: the model's text context (`max_position_embeddings`).
    ///   - truncate: cut prompts that do not fit instead of refusing them (`prompts.truncate`).
    /// - Throws: `ExperimentsError.invalidClassNames` for empty or duplicate names or classes
    ///   whose prompts tokenise identically; `ExperimentsError.promptTooLong` for a prompt that
    ///   does not fit when `truncate` is false.
    public init(classNames: [String], templates: [String], tokenizer: CLIPTokenizer, contextLength: Int, truncate: Bool) throws {
        try Self.checkNames(classNames)
        var rows: [[Int32]] = []
        var warnings: [String] = []
        rows.reserveCapacity(classNames.count * templates.count)
        for name in classNames {
            for template in templates {
                let prompt = template.replacingOccurrences(of: "{}", with: name)
                let tokenCount = tokenizer.encode(prompt).count + 2  // with the start and end tokens
                if tokenCount > contextLength {
                    guard truncate else {
                        throw ExperimentsError.promptTooLong(
                            className: name, template: template, tokenCount: tokenCount, contextLength: contextLength)
                    }
                    warnings.append("prompt \"\(TerminalText.escaped(prompt))\" (class '\(TerminalText.escaped(name))', template \"\(TerminalText.escaped(template))\") "
                                    + "gives \(tokenCount) tokens; cut to the context length \(contextLength) (prompts.truncate)")
                }
                rows += try tokenizer.tokenize([prompt], contextLength: contextLength, truncate: truncate)
            }
        }
        try Self.checkDistinct(rows, classNames: classNames, templateCount: templates.count)
        tokens = rows
        self.warnings = warnings
    }

    /// Refuses empty and duplicate class names (compared after trimming white space).
    /// - Throws: `ExperimentsError.invalidClassNames` naming the classes.
    public static func checkNames(_ classNames: [String]) throws {
        var seen: [String: Int] = [:]
        for (index, name) in classNames.enumerated() {
            let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty {
                throw ExperimentsError.invalidClassNames(reason: "class \(index) has an empty name")
            }
            if let first = seen[trimmed] {
                throw ExperimentsError.invalidClassNames(
                    reason: "classes \(first) and \(index) are both named '\(TerminalText.escaped(trimmed))'")
            }
            seen[trimmed] = index
        }
    }

    /// Refuses two classes whose rows of token ids are equal for every template.
    private static func checkDistinct(_ rows: [[Int32]], classNames: [String], templateCount: Int) throws {
        var seen: [[[Int32]]: Int] = [:]
        for (index, name) in classNames.enumerated() {
            let classRows = Array(rows[(index * templateCount)..<((index + 1) * templateCount)])
            if let first = seen[classRows] {
                throw ExperimentsError.invalidClassNames(
                    reason: "classes \(first) '\(TerminalText.escaped(classNames[first]))' and \(index) '\(TerminalText.escaped(name))' "
                        + "give the same prompt tokens, so the same text embedding (names that differ only in case, spacing or "
                        + "punctuation the tokenizer drops, or prompts cut to the context length)")
            }
            seen[classRows] = index
        }
    }
}
