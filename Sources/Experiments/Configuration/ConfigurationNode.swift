import CLIPEncoder
import Datasets
import Foundation
import Support
import Yams

/// Where a configuration value was written: a file (with the line), a `--set` override, or
/// a configuration rebuilt from memory (`resolvedYAML()`, `applying(overrides:)`).
public enum ConfigurationOrigin: Sendable, Equatable, CustomStringConvertible {
    case file(URL, line: Int?)
    case override(String)
    case resolved

    /// Relative paths written here resolve against this folder: the file's folder, else the
    /// current working directory.
    public var baseDirectory: URL {
        switch self {
        case .file(let url, _): return url.deletingLastPathComponent()
        case .override, .resolved: return URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        }
    }

    public var description: String {
        switch self {
        case .file(let url, let line): return line.map { "\(url.path):\($0)" } ?? url.path
        case .override(let text): return "--set \(text)"
        case .resolved: return "resolved configuration"
        }
    }

    /// The same origin without a line number.
    var withoutLine: ConfigurationOrigin {
        if case .file(let url, _) = self { return .file(url, line: nil) }
        return self
    }
}

/// A YAML value of a configuration with the origin of each part, so that errors and relative
/// paths refer to the file that wrote the value even after `base:` merging.
struct ConfigurationNode: Sendable {
    /// The YAML type of a scalar, as YAML's core schema resolves it (`16` is an int, `"16"` a string).
    enum ScalarKind: String, Sendable {
        case string, int, float, bool, null
    }

    struct Entry: Sendable {
        var key: String
        var value: ConfigurationNode
        /// Where the key itself was written (its line), for errors about the key.
        var keyOrigin: ConfigurationOrigin

        init(key: String, value: ConfigurationNode, keyOrigin: ConfigurationOrigin? = nil) {
            self.key = key
            self.value = value
            self.keyOrigin = keyOrigin ?? value.origin
        }
    }

    enum Content: Sendable {
        case scalar(text: String, kind: ScalarKind)
        case sequence([ConfigurationNode])
        case mapping([Entry])
    }

    var content: Content
    var origin: ConfigurationOrigin

    static func null(origin: ConfigurationOrigin) -> ConfigurationNode {
        ConfigurationNode(content: .scalar(text: "null", kind: .null), origin: origin)
    }

    static func mapping(_ entries: [Entry], origin: ConfigurationOrigin) -> ConfigurationNode {
        ConfigurationNode(content: .mapping(entries), origin: origin)
    }

    var isNull: Bool {
        if case .scalar(_, .null) = content { return true }
        return false
    }

    var entries: [Entry]? {
        if case .mapping(let entries) = content { return entries }
        return nil
    }

    /// A short description of the value's type for error messages (`a list`, `the string 'x'`).
    var typeDescription: String {
        switch content {
        case .scalar(let text, let kind):
            switch kind {
            case .string: return "the string '\(text)'"
            case .int: return "the integer \(text)"
            case .float: return "the number \(text)"
            case .bool: return "the boolean \(text)"
            case .null: return "null"
            }
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    /// The value for `key` in a mapping.
    subscript(key: String) -> ConfigurationNode? {
        entries?.first { $0.key == key }?.value
    }
}

// MARK: - From and to YAML

extension ConfigurationNode {
    /// The most bytes of YAML text a configuration file may have (checked before parsing).
    static let maximumTextBytes = 1 << 20
    /// The most values (scalars, lists and mappings) a configuration may expand to. Yams
    /// resolves aliases (`*name`) while composing by sharing the anchored node, which costs
    /// nothing; walking the result would visit every repetition, so an alias bomb (nested
    /// anchors of ten aliases each) would grow without end. The walk stops at this budget.
    static let maximumNodeCount = 100_000

    /// Parses YAML text into a tree whose parts carry `file` and their line.
    /// - Throws: `ExperimentsError.invalidYAML` for syntax errors, duplicate keys, non-scalar
    ///   keys, text over `maximumTextBytes` and documents over `maximumNodeCount` values.
    static func parse(yaml: String, file: URL?, sourceName: String) throws -> ConfigurationNode? {
        guard yaml.utf8.count <= maximumTextBytes else {
            throw ExperimentsError.invalidYAML(
                file: sourceName, reason: "\(yaml.utf8.count) bytes, more than the \(maximumTextBytes) a configuration may have")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw ExperimentsError.invalidYAML(file: sourceName, reason: ReadableError.reason(error))
        }
        guard let node else { return nil }
        var budget = maximumNodeCount
        return try convert(node, file: file, sourceName: sourceName, budget: &budget)
    }

    private static func convert(_ node: Node, file: URL?, sourceName: String, budget: inout Int) throws -> ConfigurationNode {
        let origin: ConfigurationOrigin = file.map { .file($0, line: node.mark?.line) } ?? .override(sourceName)
        budget -= 1
        guard budget >= 0 else {
            throw ExperimentsError.invalidYAML(
                file: sourceName,
                reason: "the document expands to more than \(maximumNodeCount) values; YAML aliases (*name) repeat parts of it, "
                    + "and configurations do not support aliases")
        }
        switch node {
        case .scalar(let scalar):
            return ConfigurationNode(content: .scalar(text: scalar.string, kind: kind(of: node)), origin: origin)
        case .sequence(let sequence):
            return ConfigurationNode(
                content: .sequence(try sequence.map { try convert($0, file: file, sourceName: sourceName, budget: &budget) }), origin: origin)
        case .mapping(let mapping):
            var entries: [Entry] = []
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let keyScalar) = keyNode else {
                    throw ExperimentsError.invalidYAML(file: "\(origin)", reason: "a mapping key is not a plain value")
                }
                let key = keyScalar.string
                if entries.contains(where: { $0.key == key }) {
                    throw ExperimentsError.invalidYAML(file: "\(origin)", reason: "key '\(key)' appears twice in one mapping")
                }
                let keyOrigin: ConfigurationOrigin = file.map { .file($0, line: keyNode.mark?.line) } ?? .override(sourceName)
                entries.append(Entry(
                    key: key, value: try convert(valueNode, file: file, sourceName: sourceName, budget: &budget), keyOrigin: keyOrigin))
            }
            return ConfigurationNode(content: .mapping(entries), origin: origin)
        case .alias:
            throw ExperimentsError.invalidYAML(file: "\(origin)", reason: "YAML aliases are not supported in configurations")
        }
    }

    private static func kind(of node: Node) -> ScalarKind {
        switch node.tag.rawValue {
        case Tag.Name.int.rawValue: return .int
        case Tag.Name.float.rawValue: return .float
        case Tag.Name.bool.rawValue: return .bool
        case Tag.Name.null.rawValue: return .null
        default: return .string
        }
    }

    /// The tree as YAML text, block style, keys in their order, two-space indentation; lists of
    /// scalars are written inline (`[1, 2, 4]`).
    func yamlText() -> String {
        var lines: [String] = []
        emit(into: &lines, indent: 0)
        return lines.joined(separator: "\n") + "\n"
    }

    private func emit(into lines: inout [String], indent: Int) {
        let padding = String(repeating: " ", count: indent)
        guard case .mapping(let entries) = content else {
            lines.append(padding + inlineText)
            return
        }
        for entry in entries {
            let key = Self.quotedIfNeeded(entry.key)
            switch entry.value.content {
            case .mapping(let children) where !children.isEmpty:
                lines.append("\(padding)\(key):")
                entry.value.emit(into: &lines, indent: indent + 2)
            case .sequence(let elements) where elements.contains(where: { $0.entries != nil }):
                lines.append("\(padding)\(key):")
                for element in elements {
                    var nested: [String] = []
                    element.emit(into: &nested, indent: indent + 4)
                    if let first = nested.first {
                        lines.append("\(padding)  - " + first.dropFirst(indent + 4))
                        lines.append(contentsOf: nested.dropFirst())
                    }
                }
            case .sequence(let elements) where entry.value.inlineText.count + indent + key.count > 96:
                // Long lists of scalars (template ensembles) one element per line.
                lines.append("\(padding)\(key):")
                for element in elements { lines.append("\(padding)  - \(element.inlineText)") }
            default:
                lines.append("\(padding)\(key): \(entry.value.inlineText)")
            }
        }
    }

    /// The value on one line (flow style for lists and mappings).
    var inlineText: String {
        switch content {
        case .scalar(let text, let kind):
            return kind == .string ? Self.quotedIfNeeded(text) : text
        case .sequence(let elements):
            return "[" + elements.map(\.inlineText).joined(separator: ", ") + "]"
        case .mapping(let entries):
            return "{" + entries.map { "\(Self.quotedIfNeeded($0.key)): \($0.value.inlineText)" }.joined(separator: ", ") + "}"
        }
    }

    /// `text` plain when YAML reads it back as the same string, else double-quoted.
    static func quotedIfNeeded(_ text: String) -> String {
        let safeCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "_-./~ ()'+"))
        let startsSafely = text.unicodeScalars.first.map { CharacterSet.alphanumerics.contains($0) || $0 == "/" || $0 == "_" } ?? false
            || text.hasPrefix("~/") || text.hasPrefix("./") || text.hasPrefix("../")
        let plainIsSafe = startsSafely
            && text.unicodeScalars.allSatisfy { safeCharacters.contains($0) }
            && text.last != " "
            && Resolver.default.resolveTag(of: Node(text)) == .str
        if plainIsSafe { return text }
        var escaped = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }
}
