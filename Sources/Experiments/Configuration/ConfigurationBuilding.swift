import Foundation

/// Shorthands that build resolved configuration trees from decoded values (for
/// `resolvedYAML()` and `applying(overrides:)`).
extension ConfigurationNode {
    static func string(_ text: String?) -> ConfigurationNode {
        guard let text else { return .null(origin: .resolved) }
        return ConfigurationNode(content: .scalar(text: text, kind: .string), origin: .resolved)
    }

    static func int(_ value: Int?) -> ConfigurationNode {
        guard let value else { return .null(origin: .resolved) }
        return ConfigurationNode(content: .scalar(text: String(value), kind: .int), origin: .resolved)
    }

    static func double(_ value: Double?) -> ConfigurationNode {
        guard let value else { return .null(origin: .resolved) }
        let text = value.rounded() == value && abs(value) < 1e15 ? String(value) : "\(value)"
        return ConfigurationNode(content: .scalar(text: text, kind: .float), origin: .resolved)
    }

    static func bool(_ value: Bool) -> ConfigurationNode {
        ConfigurationNode(content: .scalar(text: value ? "true" : "false", kind: .bool), origin: .resolved)
    }

    static func path(_ url: URL?) -> ConfigurationNode {
        string(url?.path)
    }

    static func strings(_ values: [String]?) -> ConfigurationNode {
        guard let values else { return .null(origin: .resolved) }
        return ConfigurationNode(content: .sequence(values.map { .string($0) }), origin: .resolved)
    }

    static func doubles(_ values: [Double]) -> ConfigurationNode {
        ConfigurationNode(content: .sequence(values.map { .double($0) }), origin: .resolved)
    }

    static func ints(_ values: [Int]) -> ConfigurationNode {
        ConfigurationNode(content: .sequence(values.map { .int($0) }), origin: .resolved)
    }

    /// A mapping in the given key order.
    static func section(_ pairs: [(String, ConfigurationNode)]) -> ConfigurationNode {
        .mapping(pairs.map { Entry(key: $0.0, value: $0.1) }, origin: .resolved)
    }
}
