import CLIPEncoder
import Datasets
import FileIntegrity
import Foundation
import Support

/// Loads a configuration file and the chain of files it names with `base:`, and merges them
/// (each child over its base).
enum ConfigurationLoader {
    /// The merged tree of `file` and its bases, without `base` keys.
    /// - Throws: `configurationFileNotFound`, `invalidYAML`, `wrongType` for a `base` that is
    ///   not a string, `baseCycle` when a file is its own ancestor.
    static func load(file: URL) throws -> ConfigurationNode {
        try load(file: file.standardizedFileURL, chain: [])
    }

    /// The merged tree of YAML text (with `base:` paths relative to `baseDirectory`).
    static func load(yaml: String, baseDirectory: URL, sourceName: String) throws -> ConfigurationNode {
        let pseudoFile = baseDirectory.appendingPathComponent(sourceName)
        let node = try ConfigurationNode.parse(yaml: yaml, file: pseudoFile, sourceName: pseudoFile.path)
            ?? .mapping([], origin: .file(pseudoFile, line: nil))
        return try resolveBase(of: node, file: pseudoFile, chain: [pseudoFile])
    }

    private static func load(file: URL, chain: [URL]) throws -> ConfigurationNode {
        if chain.contains(file) {
            throw ExperimentsError.baseCycle(chain: (chain + [file]).map(\.path))
        }
        if FileSystem.isDirectory(file) {
            throw ExperimentsError.unreadable(path: file.path, reason: "it is a folder, not a YAML configuration file")
        }
        guard FileSystem.isFile(file) else { throw ExperimentsError.configurationFileNotFound(path: file.path) }
        try RegularFile.require(file)
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw ExperimentsError.unreadable(path: file.path, reason: ReadableError.reason(error))
        }
        let node = try ConfigurationNode.parse(yaml: text, file: file, sourceName: file.path)
            ?? .mapping([], origin: .file(file, line: nil))
        return try resolveBase(of: node, file: file, chain: chain + [file])
    }

    private static func resolveBase(of parsed: ConfigurationNode, file: URL, chain: [URL]) throws -> ConfigurationNode {
        guard parsed.entries != nil else {
            throw ExperimentsError.invalidYAML(file: file.path, reason: "the top level must be a mapping of keys to values")
        }
        let node = try parsed.renamingOlderKeys()
        try node.requireExclusiveKeys()
        guard let baseNode = node["base"], !baseNode.isNull else { return node.removing("base") }
        guard case .scalar(let basePath, .string) = baseNode.content else {
            throw ExperimentsError.wrongType(
                keyPath: "base", file: "\(baseNode.origin)", expected: "a path to a YAML file", actual: baseNode.typeDescription)
        }
        let baseFile = resolvePath(basePath, relativeTo: file.deletingLastPathComponent()).standardizedFileURL
        if FileSystem.isDirectory(baseFile) {
            throw ExperimentsError.invalidValue(keyPath: "base", file: "\(baseNode.origin)", value: basePath,
                                                reason: "\(baseFile.path) is a folder, not a YAML configuration file")
        }
        let base = try load(file: baseFile, chain: chain)
        return base.merged(with: node.removing("base"))
    }
}

/// `~` and `~/...` expand to the home folder; `/...` is kept; anything else is relative to
/// `directory`.
func resolvePath(_ text: String, relativeTo directory: URL) -> URL {
    if text == "~" || text.hasPrefix("~/") {
        return URL(fileURLWithPath: (text as NSString).expandingTildeInPath).standardizedFileURL
    }
    if text.hasPrefix("/") { return URL(fileURLWithPath: text).standardizedFileURL }
    return URL(fileURLWithPath: text, relativeTo: directory).standardizedFileURL.absoluteURL
}
