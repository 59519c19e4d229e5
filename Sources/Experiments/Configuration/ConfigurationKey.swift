import Datasets
import Foundation
import Support

/// A value a configuration key can hold: how it is read from a section, written back, named
/// in docs/configuration.md, and which numbers its range applies to.
protocol ConfigurationValue: Sendable, Equatable {
    /// The type as docs/configuration.md writes it (`integer`, `list of numbers`, …).
    static var typeName: String { get }
    /// The value of `key` in `reader`, nil when absent or null; type problems are recorded.
    static func read(_ key: String, from reader: ConfigurationReader) -> Self?
    /// The value as a resolved configuration writes it.
    var node: ConfigurationNode { get }
    /// The numbers a range check applies to (every element of a list).
    var rangeChecked: [Double] { get }
}

extension ConfigurationValue {
    var rangeChecked: [Double] { [] }
}

extension Int: ConfigurationValue {
    static var typeName: String { "integer" }
    static func read(_ key: String, from reader: ConfigurationReader) -> Int? { reader.int(key) }
    var node: ConfigurationNode { .int(self) }
    var rangeChecked: [Double] { [Double(self)] }
}

extension Double: ConfigurationValue {
    static var typeName: String { "number" }
    static func read(_ key: String, from reader: ConfigurationReader) -> Double? { reader.double(key) }
    var node: ConfigurationNode { .double(self) }
    var rangeChecked: [Double] { [self] }
}

extension Bool: ConfigurationValue {
    static var typeName: String { "boolean" }
    static func read(_ key: String, from reader: ConfigurationReader) -> Bool? {
        reader.has(key) ? reader.bool(key, default: false) : nil
    }
    var node: ConfigurationNode { .bool(self) }
}

extension String: ConfigurationValue {
    static var typeName: String { "string" }
    static func read(_ key: String, from reader: ConfigurationReader) -> String? { reader.string(key) }
    var node: ConfigurationNode { .string(self) }
}

extension Array: ConfigurationValue where Element: ConfigurationListElement {
    static var typeName: String { "list of " + Element.pluralName }
    static func read(_ key: String, from reader: ConfigurationReader) -> [Element]? { Element.readList(key, from: reader) }
    var node: ConfigurationNode { ConfigurationNode(content: .sequence(map(\.node)), origin: .resolved) }
    var rangeChecked: [Double] { flatMap(\.rangeChecked) }
}

/// A value that lists of a key may hold.
protocol ConfigurationListElement: ConfigurationValue {
    static var pluralName: String { get }
    static func readList(_ key: String, from reader: ConfigurationReader) -> [Self]?
}

extension Int: ConfigurationListElement {
    static var pluralName: String { "integers" }
    static func readList(_ key: String, from reader: ConfigurationReader) -> [Int]? { reader.ints(key) }
}

extension Double: ConfigurationListElement {
    static var pluralName: String { "numbers" }
    static func readList(_ key: String, from reader: ConfigurationReader) -> [Double]? { reader.doubles(key) }
}

extension String: ConfigurationListElement {
    static var pluralName: String { "strings" }
    static func readList(_ key: String, from reader: ConfigurationReader) -> [String]? { reader.strings(key) }
}

/// A key whose default is "none" (`null`): absent, or written as `null`.
extension Optional: ConfigurationValue where Wrapped: ConfigurationValue {
    static var typeName: String { Wrapped.typeName }
    static func read(_ key: String, from reader: ConfigurationReader) -> Wrapped?? {
        Wrapped.read(key, from: reader).map { .some($0) }
    }
    var node: ConfigurationNode { map(\.node) ?? .null(origin: .resolved) }
    var rangeChecked: [Double] { map(\.rangeChecked) ?? [] }
}

/// A string key with a fixed set of values, one enum case each.
protocol ConfigurationChoice: ConfigurationValue, RawRepresentable, CaseIterable where RawValue == String {}

extension ConfigurationChoice {
    static var typeName: String { "string" }
    static func read(_ key: String, from reader: ConfigurationReader) -> Self? {
        guard let text = reader.string(key) else { return nil }
        guard let choice = Self(rawValue: text) else {
            reader.invalid(key, value: text, reason: "expected one of " + allCases.map(\.rawValue).joined(separator: ", "))
            return nil
        }
        return choice
    }
    var node: ConfigurationNode { .string(rawValue) }
}

/// A path: `~` is the home folder, `/…` absolute, anything else relative to the folder of the
/// file that wrote it (its default, to the working directory).
struct ConfigurationPath: ConfigurationValue {
    var url: URL
    /// The text of a default (`cache`), as docs and `base.yaml` write it.
    var defaultText: String?
    static var typeName: String { "path" }
    static func read(_ key: String, from reader: ConfigurationReader) -> ConfigurationPath? {
        reader.path(key).map(ConfigurationPath.init)
    }
    var node: ConfigurationNode { .path(url) }
    /// `text` resolved against the working directory (a default's meaning).
    init(default text: String) {
        url = resolvePath(text, relativeTo: ConfigurationOrigin.resolved.baseDirectory)
        defaultText = text
    }

    init(url: URL) { self.url = url }

    /// Paths are equal when they resolve alike, whatever default text they came from.
    static func == (left: ConfigurationPath, right: ConfigurationPath) -> Bool { left.url == right.url }
}

/// The interval a key's numbers must lie in, and how an error states it.
struct ConfigurationRange: Sendable {
    var lower: Double?
    var upper: Double?
    var lowerOpen = false
    var upperOpen = false
    /// Said after the interval in errors (`no softmax probability of several classes reaches 1`).
    var why: String?
    /// Integer ranges state their bounds one at a time (`must be at least 1`).
    var isIntegerRange = false

    /// `[lower, upper]`.
    static func closed(_ lower: Double, _ upper: Double) -> ConfigurationRange { ConfigurationRange(lower: lower, upper: upper) }
    /// `(lower, upper]`.
    static func openBelow(_ lower: Double, _ upper: Double) -> ConfigurationRange {
        ConfigurationRange(lower: lower, upper: upper, lowerOpen: true)
    }
    /// `[lower, upper)`.
    static func openAbove(_ lower: Double, _ upper: Double) -> ConfigurationRange {
        ConfigurationRange(lower: lower, upper: upper, upperOpen: true)
    }
    /// `(lower, upper)`.
    static func open(_ lower: Double, _ upper: Double) -> ConfigurationRange {
        ConfigurationRange(lower: lower, upper: upper, lowerOpen: true, upperOpen: true)
    }
    /// From `lower` on.
    static func atLeast(_ lower: Double) -> ConfigurationRange { ConfigurationRange(lower: lower) }

    func with(why: String) -> ConfigurationRange {
        var copy = self
        copy.why = why
        return copy
    }

    func contains(_ value: Double) -> Bool {
        if let lower, lowerOpen ? !(value > lower) : !(value >= lower) { return false }
        if let upper, upperOpen ? !(value < upper) : !(value <= upper) { return false }
        return true
    }

    /// Why `value` is refused, nil when it lies inside: `must be in (0, 1]`, `must be at least 1`.
    func problem(with value: Double) -> String? {
        guard !contains(value) else { return nil }
        let reason: String
        switch (lower, upper) {
        case (let lower?, let upper?) where isIntegerRange:
            reason = value < lower ? "must be at least \(formatNumber(lower))" : "must be at most \(formatNumber(upper))"
        case (let lower?, let upper?):
            reason = "must be in \(lowerOpen ? "(" : "[")\(formatNumber(lower)), \(formatNumber(upper))\(upperOpen ? ")" : "]")"
        case (let lower?, nil):
            reason = lowerOpen ? "must be above \(formatNumber(lower))" : "must be at least \(formatNumber(lower))"
        case (nil, let upper?):
            reason = upperOpen ? "must be below \(formatNumber(upper))" : "must be at most \(formatNumber(upper))"
        case (nil, nil):
            return nil
        }
        return why.map { "\(reason): \($0)" } ?? reason
    }
}

extension ConfigurationRange {
    /// Integers in `lower...upper`, stated one bound at a time.
    static func integers(_ lower: Int, _ upper: Int) -> ConfigurationRange {
        var range = ConfigurationRange(lower: Double(lower), upper: Double(upper))
        range.isIntegerRange = true
        return range
    }
}

/// Where a key stands in `Configs/base.yaml`, which states every default.
enum BaseYAMLPresence: Sendable {
    /// Written with its default.
    case stated
    /// Written with a value of its own (a path that suits the repository).
    case statedWithOwnValue
    /// Not written, or written as `null`: required and set per dataset, or an alternative to
    /// another key, or an optional section.
    case absent
}

/// One configuration key: its path, older spellings, type, default, range and one line of doc.
/// `ConfigurationKeys` is the table of all of them.
struct ConfigurationKey<Value: ConfigurationValue>: Sendable {
    /// `model_selection.held_out_fraction`.
    let path: String
    /// Older names of the key in the same section, still read (and written under `name`).
    var aliases: [String] = []
    /// The value when the key is absent or null (required keys are described, not typed:
    /// `ConfigurationKeyDescription`).
    let defaultValue: Value
    var range: ConfigurationRange?
    var presence: BaseYAMLPresence = .stated
    let doc: String

    init(_ path: String, aliases: [String] = [], default defaultValue: Value, range: ConfigurationRange? = nil,
         presence: BaseYAMLPresence = .stated, doc: String) {
        self.path = path
        self.aliases = aliases
        self.defaultValue = defaultValue
        self.range = range
        self.presence = presence
        self.doc = doc
    }

    /// The key's name inside its section.
    var name: String { path.split(separator: ".").last.map(String.init) ?? path }

    /// `(name, value)` for a resolved section.
    func entry(_ value: Value) -> (String, ConfigurationNode) { (name, value.node) }

    var description: ConfigurationKeyDescription {
        ConfigurationKeyDescription(
            path: path, aliases: aliases, typeName: Value.typeName,
            defaultNode: (defaultValue as? ConfigurationPath)?.defaultText.map { .string($0) } ?? defaultValue.node,
            range: range, presence: presence, doc: doc)
    }
}

/// A key of the table without its Swift type: what docs/configuration.md and `base.yaml`
/// are checked against.
struct ConfigurationKeyDescription: Sendable {
    let path: String
    let aliases: [String]
    let typeName: String
    /// nil for a required key.
    let defaultNode: ConfigurationNode?
    let range: ConfigurationRange?
    let presence: BaseYAMLPresence
    let doc: String

    /// The key's name inside its section.
    var name: String { path.split(separator: ".").last.map(String.init) ?? path }

    /// A key without a typed reader (a section, or a list read by its own rules).
    init(path: String, aliases: [String] = [], typeName: String, defaultNode: ConfigurationNode?, range: ConfigurationRange? = nil,
         presence: BaseYAMLPresence = .stated, doc: String) {
        self.path = path
        self.aliases = aliases
        self.typeName = typeName
        self.defaultNode = defaultNode
        self.range = range
        self.presence = presence
        self.doc = doc
    }
}

extension ConfigurationReader {
    /// The value of `key` (or of one of its older names), its default when absent or null.
    /// A value outside the key's range is recorded as a problem naming the key.
    func value<Value>(_ key: ConfigurationKey<Value>) -> Value where Value: ConfigurationValue {
        guard let read = Value.read(key.name, from: self) else { return key.defaultValue }
        guard let range = key.range else { return read }
        let numbers = read.rangeChecked
        for number in numbers {
            if let reason = range.problem(with: number) {
                invalid(key.name, value: formatNumber(number), reason: (Value.typeName.hasPrefix("list") ? "every value " : "") + reason)
                return key.defaultValue
            }
        }
        return read
    }
}
