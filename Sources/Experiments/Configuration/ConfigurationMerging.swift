import Datasets
import Foundation
import Yams

/// Keys of which a mapping holds at most one: writing one (in a child configuration or with
/// `--set`) removes the others inherited from a base.
/// Within one file (or one `--set`), two keys of a group are an error naming both
/// (`ConfigurationNode.requireExclusiveKeys`): one of them would otherwise be dropped silently.
let exclusiveKeyGroups: [Set<String>] = [
    ["template", "templates"],
    ["class_names", "class_names_file"],
    ["top_k", "min_confidence"],
]

extension ConfigurationNode {
    /// `overlay` laid over `self`: mappings merge key by key (recursively), anything else in
    /// `overlay` replaces the base value (lists are replaced, not appended; `null` resets a key
    /// to its built-in default).
    func merged(with overlay: ConfigurationNode) -> ConfigurationNode {
        guard case .mapping(var entries) = content, case .mapping(let overlayEntries) = overlay.content else {
            return overlay
        }
        for overlayEntry in overlayEntries {
            entries.removeAll { isExclusiveSibling($0.key, of: overlayEntry.key) }
            if let index = entries.firstIndex(where: { $0.key == overlayEntry.key }) {
                entries[index].value = entries[index].value.merged(with: overlayEntry.value)
            } else {
                entries.append(overlayEntry)
            }
        }
        return ConfigurationNode(content: .mapping(entries), origin: overlay.origin)
    }

    /// A copy with `value` stored at `path` (`["adapter", "search", "enabled"]`), creating
    /// sections as needed.
    /// - Throws: `invalidOverride` when a part of the path holds a value that is not a section.
    func setting(_ value: ConfigurationNode, at path: ArraySlice<String>, override: String) throws -> ConfigurationNode {
        guard let key = path.first else { return value }
        var entries: [Entry]
        switch content {
        case .mapping(let existing): entries = existing
        case .scalar(_, .null): entries = []
        default:
            throw ExperimentsError.invalidOverride(override: override, reason: "the value above '\(key)' is \(typeDescription), not a section")
        }
        let rest = path.dropFirst()
        if let index = entries.firstIndex(where: { $0.key == key }) {
            entries[index].value = try entries[index].value.setting(value, at: rest, override: override)
        } else {
            entries.removeAll { isExclusiveSibling($0.key, of: key) }
            let empty = ConfigurationNode.mapping([], origin: value.origin)
            entries.append(Entry(key: key, value: try empty.setting(value, at: rest, override: override)))
        }
        if rest.isEmpty { entries.removeAll { isExclusiveSibling($0.key, of: key) } }
        return ConfigurationNode(content: .mapping(entries), origin: origin)
    }

    /// A copy without the top-level key `key`.
    func removing(_ key: String) -> ConfigurationNode {
        guard case .mapping(let entries) = content else { return self }
        return ConfigurationNode(content: .mapping(entries.filter { $0.key != key }), origin: origin)
    }
}

extension ConfigurationNode {
    /// Refuses a mapping, at any depth, that sets two keys of one of `exclusiveKeyGroups` to
    /// non-null values (a `null` resets a key, so it does not count).
    /// - Throws: `ExperimentsError.invalidValue` naming the second key, its file and line, and the first key.
    func requireExclusiveKeys(path: String = "") throws {
        switch content {
        case .scalar: return
        case .sequence(let items):
            for (index, item) in items.enumerated() { try item.requireExclusiveKeys(path: "\(path)[\(index)]") }
        case .mapping(let entries):
            for group in exclusiveKeyGroups {
                let present = entries.filter { group.contains($0.key) && !$0.value.isNull }
                if present.count > 1 {
                    let keyPath = path.isEmpty ? present[1].key : "\(path).\(present[1].key)"
                    throw ExperimentsError.invalidValue(
                        keyPath: keyPath, file: "\(present[1].keyOrigin)", value: present[1].value.summaryText,
                        reason: "'\(present[0].key)' and '\(present[1].key)' exclude each other; give only one of them")
                }
            }
            for entry in entries {
                try entry.value.requireExclusiveKeys(path: path.isEmpty ? entry.key : "\(path).\(entry.key)")
            }
        }
    }

    /// A short text of the value for error messages: a scalar's text, else its type.
    var summaryText: String {
        if case .scalar(let text, _) = content { return text }
        return typeDescription
    }
}

private func isExclusiveSibling(_ candidate: String, of key: String) -> Bool {
    candidate != key && exclusiveKeyGroups.contains { $0.contains(key) && $0.contains(candidate) }
}

/// One `--set key.path=value` override, parsed.
struct ConfigurationOverride {
    var path: [String]
    var value: ConfigurationNode

    /// Parses `key.path=value`; the value is read as YAML (`8` an integer, `[1, 2]` a list,
    /// `null` a reset), or taken as a plain string when it is not valid YAML (`{} texture.`).
    /// - Throws: `invalidOverride` without `=` or with an empty key part.
    init(parsing text: String) throws {
        guard let equals = text.firstIndex(of: "=") else {
            throw ExperimentsError.invalidOverride(override: text, reason: "expected key.path=value")
        }
        let keyPath = text[..<equals].trimmingCharacters(in: .whitespaces)
        let valueText = String(text[text.index(after: equals)...])
        let components = keyPath.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !keyPath.isEmpty, !components.contains(where: \.isEmpty) else {
            throw ExperimentsError.invalidOverride(override: text, reason: "key path '\(keyPath)' has an empty part")
        }
        if components.first == "base" {
            throw ExperimentsError.invalidOverride(override: text, reason: "'base' can only be set in a configuration file")
        }
        let origin = ConfigurationOrigin.override(text)
        let parsed: ConfigurationNode?
        do {
            parsed = try ConfigurationNode.parse(yaml: valueText, file: nil, sourceName: text)
        } catch {
            parsed = ConfigurationNode(content: .scalar(text: valueText, kind: .string), origin: origin)
        }
        self.path = components
        self.value = parsed ?? .null(origin: origin)
    }
}

extension ConfigurationNode {
    /// A copy with the older key names of `ConfigurationKeys` renamed to the current ones, at
    /// any depth below `path` (the section this node is): done to every file and `--set`
    /// value before merging, so that an old name in a child overrides the new name in its base.
    /// - Throws: `ExperimentsError.invalidValue` when a mapping gives a key under both names.
    func renamingOlderKeys(path: String = "") throws -> ConfigurationNode {
        guard case .mapping(var entries) = content else { return self }
        let renames = ConfigurationKeys.aliases[path] ?? [:]
        for index in entries.indices {
            let entry = entries[index]
            if let current = renames[entry.key] {
                if let clash = entries.first(where: { $0.key == current }) {
                    throw ExperimentsError.invalidValue(
                        keyPath: path.isEmpty ? current : "\(path).\(current)", file: "\(clash.keyOrigin)", value: clash.value.summaryText,
                        reason: "'\(entry.key)' is the older name of '\(current)'; give only one of them")
                }
                entries[index].key = current
            }
            let childPath = path.isEmpty ? entries[index].key : "\(path).\(entries[index].key)"
            entries[index].value = try entries[index].value.renamingOlderKeys(path: childPath)
        }
        return ConfigurationNode(content: .mapping(entries), origin: origin)
    }
}

extension ConfigurationOverride {
    /// The override with older key names in its path and value renamed to the current ones.
    func renamingOlderKeys() throws -> ConfigurationOverride {
        var copy = self
        for index in path.indices {
            let section = path[..<index].joined(separator: ".")
            if let current = ConfigurationKeys.aliases[section]?[path[index]] { copy.path[index] = current }
        }
        copy.value = try value.renamingOlderKeys(path: copy.path.joined(separator: "."))
        return copy
    }
}
