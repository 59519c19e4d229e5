import Datasets
import Foundation
import Support

/// Collects the problems found while decoding a configuration, so that decoding always runs
/// to the end (and so knows every valid key) before reporting: unknown keys first, then the
/// first other problem.
final class ConfigurationDecodingContext {
    /// Named in errors about keys that are missing everywhere.
    let documentName: String
    private(set) var problems: [ExperimentsError] = []
    private var readers: [ConfigurationReader] = []

    init(documentName: String) {
        self.documentName = documentName
    }

    func record(_ problem: ExperimentsError) {
        problems.append(problem)
    }

    func register(_ reader: ConfigurationReader) {
        readers.append(reader)
    }

    /// The path of every key and section the decoding asked for (known keys).
    var askedKeyPaths: [String] {
        readers.flatMap { reader in reader.askedKeys.map { reader.keyPath($0) } }
    }

    /// Throws the first unknown key (with a suggestion), else the first recorded problem.
    func finish() throws {
        let allKnownPaths = askedKeyPaths
        for reader in readers {
            for entry in reader.entries where !reader.askedKeys.contains(entry.key) {
                let suggestion = suggestKey(for: entry.key, sameSection: reader.askedKeys.sorted())
                    .map { reader.keyPath($0) }
                    ?? allKnownPaths.first { $0.split(separator: ".").last.map(String.init) == entry.key }
                throw ExperimentsError.unknownKey(
                    keyPath: reader.keyPath(entry.key), file: "\(entry.keyOrigin)", suggestion: suggestion)
            }
        }
        if let first = problems.first { throw first }
    }
}

/// Reads the keys of one configuration section with their expected types. Problems are
/// recorded in the context and a fallback value is returned, so reading never stops early.
/// Keys of the table (`ConfigurationKeys`) are read with `value(_:)`, which takes their name,
/// default and range from it.
final class ConfigurationReader {
    let context: ConfigurationDecodingContext
    /// The section's key path, empty at the top level (`adapter.search`).
    let path: String
    let entries: [ConfigurationNode.Entry]
    let origin: ConfigurationOrigin
    private(set) var askedKeys: Set<String> = []

    init(node: ConfigurationNode?, path: String, context: ConfigurationDecodingContext) {
        self.context = context
        self.path = path
        self.entries = node?.entries ?? []
        self.origin = node?.origin ?? .resolved
        context.register(self)
    }

    /// `path.key`, or `key` at the top level.
    func keyPath(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// The value of `key`, `nil` when absent or null. Marks the key as known.
    func node(_ key: String) -> ConfigurationNode? {
        askedKeys.insert(key)
        guard let value = entries.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
        return value
    }

    /// Records a type problem for `key`.
    func wrongType(_ key: String, _ node: ConfigurationNode, expected: String) {
        context.record(.wrongType(keyPath: keyPath(key), file: "\(node.origin)", expected: expected, actual: node.typeDescription))
    }

    /// Records a value problem for `key` at `node` (or the section when `node` is nil).
    func invalid(_ key: String, value: String, reason: String) {
        let file = entries.first { $0.key == key }.map { "\($0.value.origin)" } ?? "\(origin)"
        context.record(.invalidValue(keyPath: keyPath(key), file: file, value: value, reason: reason))
    }

    /// Records that `key` is required.
    func missing(_ key: String) {
        context.record(.missingKey(keyPath: keyPath(key), file: context.documentName))
    }

    // MARK: Sections

    /// The sub-section `key` (an empty one when absent, null or of the wrong type).
    func section(_ key: String) -> ConfigurationReader {
        guard let value = node(key) else { return ConfigurationReader(node: nil, path: keyPath(key), context: context) }
        guard value.entries != nil else {
            wrongType(key, value, expected: "a section (a mapping of keys to values)")
            return ConfigurationReader(node: nil, path: keyPath(key), context: context)
        }
        return ConfigurationReader(node: value, path: keyPath(key), context: context)
    }

    /// Whether `key` is present and not null.
    func has(_ key: String) -> Bool {
        node(key) != nil
    }

    // MARK: Scalars

    func string(_ key: String) -> String? {
        guard let value = node(key) else { return nil }
        guard case .scalar(let text, _) = value.content else {
            wrongType(key, value, expected: "a string")
            return nil
        }
        return text
    }

    func string(_ key: String, default fallback: String) -> String {
        string(key) ?? fallback
    }

    func requiredString(_ key: String) -> String {
        guard let text = string(key) else {
            if !has(key) { missing(key) }
            return ""
        }
        return text
    }

    func int(_ key: String) -> Int? {
        guard let value = node(key) else { return nil }
        switch value.content {
        case .scalar(let text, .int):
            if let integer = parseInteger(text) { return integer }
        case .scalar(let text, .float):
            if let double = Double(text), double.rounded() == double, abs(double) < 1e15 { return Int(double) }
        default: break
        }
        wrongType(key, value, expected: "an integer")
        return nil
    }

    /// A finite number: NaN and infinities (`.nan`, `.inf`) are refused naming the key.
    func double(_ key: String) -> Double? {
        guard let value = node(key) else { return nil }
        if let number = Self.number(value) {
            guard number.isFinite else {
                invalid(key, value: formatNumber(number), reason: "must be a finite number")
                return nil
            }
            return number
        }
        wrongType(key, value, expected: "a number")
        return nil
    }

    func bool(_ key: String, default fallback: Bool) -> Bool {
        guard let value = node(key) else { return fallback }
        guard case .scalar(let text, .bool) = value.content else {
            wrongType(key, value, expected: "true or false")
            return fallback
        }
        return ["true", "yes", "on"].contains(text.lowercased())
    }

    /// A path: `~` expands to the home folder, `/...` is absolute, anything else is relative
    /// to the folder of the file that wrote it.
    func path(_ key: String) -> URL? {
        guard let value = node(key) else { return nil }
        guard case .scalar(let text, .string) = value.content, !text.isEmpty else {
            wrongType(key, value, expected: "a path (a string)")
            return nil
        }
        return resolvePath(text, relativeTo: value.origin.baseDirectory)
    }

    // MARK: Lists and maps

    func strings(_ key: String) -> [String]? {
        guard let value = node(key) else { return nil }
        guard case .sequence(let elements) = value.content else {
            wrongType(key, value, expected: "a list of strings")
            return nil
        }
        var result: [String] = []
        for element in elements {
            guard case .scalar(let text, let kind) = element.content, kind != .null else {
                wrongType(key, element, expected: "a list of strings")
                return nil
            }
            result.append(text)
        }
        return result
    }

    func doubles(_ key: String) -> [Double]? {
        guard let value = node(key) else { return nil }
        guard case .sequence(let elements) = value.content else {
            wrongType(key, value, expected: "a list of numbers")
            return nil
        }
        var result: [Double] = []
        for element in elements {
            guard let number = Self.number(element) else {
                wrongType(key, element, expected: "a list of numbers")
                return nil
            }
            guard number.isFinite else {
                invalid(key, value: formatNumber(number), reason: "must hold finite numbers")
                return nil
            }
            result.append(number)
        }
        return result
    }

    func ints(_ key: String) -> [Int]? {
        guard let value = node(key) else { return nil }
        guard case .sequence(let elements) = value.content else {
            wrongType(key, value, expected: "a list of integers")
            return nil
        }
        var result: [Int] = []
        for element in elements {
            guard case .scalar(let text, .int) = element.content, let integer = parseInteger(text) else {
                wrongType(key, element, expected: "a list of integers")
                return nil
            }
            result.append(integer)
        }
        return result
    }

    /// A mapping of names to numbers (`{degrees: 90}`); every key of it is accepted.
    func numberMap(_ key: String) -> [String: Double] {
        guard let value = node(key) else { return [:] }
        guard let mapEntries = value.entries else {
            wrongType(key, value, expected: "a mapping of names to numbers")
            return [:]
        }
        var result: [String: Double] = [:]
        for entry in mapEntries {
            guard let number = Self.number(entry.value), number.isFinite else {
                context.record(.wrongType(
                    keyPath: keyPath("\(key).\(entry.key)"), file: "\(entry.value.origin)",
                    expected: "a finite number", actual: entry.value.typeDescription))
                continue
            }
            result[entry.key] = number
        }
        return result
    }

    private static func number(_ node: ConfigurationNode) -> Double? {
        switch node.content {
        case .scalar(let text, .int): return parseInteger(text).map(Double.init)
        case .scalar(let text, .float): return parseFloat(text)
        default: return nil
        }
    }
}

/// An integer as YAML writes it (`16`, `+3`, `1_000`, `0x10`).
func parseInteger(_ text: String) -> Int? {
    var cleaned = text.replacingOccurrences(of: "_", with: "")
    var sign = 1
    if cleaned.hasPrefix("-") { sign = -1; cleaned.removeFirst() } else if cleaned.hasPrefix("+") { cleaned.removeFirst() }
    let magnitude: Int?
    if cleaned.hasPrefix("0x") { magnitude = Int(cleaned.dropFirst(2), radix: 16) }
    else if cleaned.hasPrefix("0b") { magnitude = Int(cleaned.dropFirst(2), radix: 2) }
    else if cleaned.hasPrefix("0o") { magnitude = Int(cleaned.dropFirst(2), radix: 8) }
    else { magnitude = Int(cleaned) }
    return magnitude.map { $0 * sign }
}

/// A float as YAML writes it (`1e-4`, `.5`, `1_000.5`, `.inf`).
func parseFloat(_ text: String) -> Double? {
    let cleaned = text.replacingOccurrences(of: "_", with: "")
    switch cleaned.lowercased() {
    case ".inf", "+.inf": return .infinity
    case "-.inf": return -.infinity
    case ".nan": return .nan
    default: return Double(cleaned.hasPrefix(".") ? "0" + cleaned : cleaned.hasPrefix("-.") ? "-0" + cleaned.dropFirst() : cleaned)
    }
}
