import Datasets
import Foundation
import Support

/// `dataset.class_profile` in YAML:
///
/// ```yaml
/// dataset:
///   class_profile: {kind: long_tail, imbalance: 10, order: shuffled, seed: 1}
///   # or {kind: shares, shares: [4, 2, 1, ...]} or {kind: counts, counts: [600, 300, ...]}
///   # long_tail and shares may set largest: N (images of the largest class in every split)
/// ```
extension ClassProfile {
    /// Reads the section; problems are recorded in the reader's context naming the key
    /// (`dataset.class_profile.imbalance`, …).
    init(reading reader: ConfigurationReader) {
        let kindText = reader.requiredString("kind")
        let kind = Kind(rawValue: kindText) ?? .longTail
        if !kindText.isEmpty, Kind(rawValue: kindText) == nil {
            reader.invalid("kind", value: kindText, reason: "expected one of " + Kind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self.init(kind: kind)
        imbalance = reader.double("imbalance")
        order = reader.value(ConfigurationKeys.ClassProfileSection.order)
        shares = reader.doubles("shares")
        counts = reader.ints("counts")
        largest = reader.int("largest")
        seed = reader.value(ConfigurationKeys.ClassProfileSection.seed)
        validate(reader: reader, kindIsKnown: Kind(rawValue: kindText) != nil)
    }

    /// Which keys each kind takes, and their ranges.
    private func validate(reader: ConfigurationReader, kindIsKnown: Bool) {
        guard kindIsKnown else { return }
        let keysOfKind: [Kind: Set<String>] = [
            .longTail: ["imbalance", "order", "largest"], .shares: ["shares", "largest"], .counts: ["counts"],
        ]
        let allowed = keysOfKind[kind] ?? []
        for key in ["imbalance", "order", "shares", "counts", "largest"] where reader.has(key) && !allowed.contains(key) {
            let kinds = keysOfKind.filter { $0.value.contains(key) }.map(\.key.rawValue).sorted().joined(separator: " or ")
            reader.invalid(key, value: "(set)", reason: "applies to kind \(kinds), not \(kind.rawValue)")
        }
        switch kind {
        case .longTail:
            if let imbalance {
                if !(imbalance >= 1) { reader.invalid("imbalance", value: formatNumber(imbalance), reason: "must be at least 1 (largest class over smallest)") }
            } else if !reader.has("imbalance") {
                reader.missing("imbalance")
            }
        case .shares:
            if let shares {
                if shares.isEmpty { reader.invalid("shares", value: "[]", reason: "must list one share per class") }
                if let bad = shares.first(where: { !($0 > 0) }) {
                    reader.invalid("shares", value: formatNumber(bad), reason: "every share must be positive")
                }
            } else if !reader.has("shares") {
                reader.missing("shares")
            }
        case .counts:
            if let counts {
                if let bad = counts.first(where: { $0 < 0 }) {
                    reader.invalid("counts", value: String(bad), reason: "counts must not be negative")
                } else if !counts.contains(where: { $0 > 0 }) {
                    reader.invalid("counts", value: "[\(counts.map(String.init).joined(separator: ", "))]", reason: "must keep at least one image")
                }
            } else if !reader.has("counts") {
                reader.missing("counts")
            }
        }
        if let largest, largest < 1 { reader.invalid("largest", value: String(largest), reason: "must be at least 1") }
    }

    /// The section as the resolved configuration prints it (only the keys of its kind).
    var node: ConfigurationNode {
        var pairs: [(String, ConfigurationNode)] = [("kind", .string(kind.rawValue))]
        switch kind {
        case .longTail:
            pairs += [("imbalance", .double(imbalance)), ("order", .string(order.rawValue)), ("largest", .int(largest))]
        case .shares:
            pairs += [("shares", .doubles(shares ?? [])), ("largest", .int(largest))]
        case .counts:
            pairs.append(("counts", .ints(counts ?? [])))
        }
        pairs.append(("seed", .int(seed)))
        return .section(pairs)
    }
}
