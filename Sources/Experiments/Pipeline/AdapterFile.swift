import CLIPEncoder
import Compute
import FileIntegrity
import Foundation
import PrototypeTrainer
import Support

/// The trained adapter as one safetensors file: everything `upadapter predict` needs besides
/// the CLIP model itself.
///
/// Tensors: `text_classifier` `[classes, dim]`, `keys` `[keys, dim]`, `key_classes` `[keys]`
/// (class index per key, as floats), `alpha`, `beta`, `logit_scale` (scalars as `[1]`).
/// Metadata: `class_names` and `templates` (JSON arrays), `prototype_kind`, `model_digest`, `version`,
/// and `tensors_sha256`: the SHA-256 of the six tensors' little-endian F32 values (in the order
/// above) and the `class_names` text, checked on every read as the feature cache checks its files.
public enum AdapterFile {
    /// A loaded adapter.
    public struct Contents: Sendable {
        public let classifier: AdaptedClassifier
        public let classNames: [String]
        public let modelDigest: String
        /// False for an adapter written before adapters carried `tensors_sha256`: loaded unchecked.
        public let checksumVerified: Bool
    }

    /// The metadata key of the checksum.
    static let checksumKey = "tensors_sha256"

    /// The tensors in checksum order.
    static let tensorNames = ["text_classifier", "keys", "key_classes", "alpha", "beta", "logit_scale"]

    /// SHA-256 of `tensors` (values in `tensorNames` order) and the `class_names` metadata text.
    static func checksum(_ tensors: [[Float]], classNamesText: String) -> String {
        var hash = SHA256()
        for values in tensors {
            values.withUnsafeBytes { hash.update($0.bindMemory(to: UInt8.self)) }
        }
        hash.update(Array(classNamesText.utf8))
        return hash.finalizeHex()
    }

    public static func write(classifier: AdaptedClassifier, classNames: [String], templates: [String], modelDigest: String, to url: URL) throws {
        let text = classifier.textClassifier, keys = classifier.prototypes.keys
        let json = { (values: [String]) in String(decoding: (try? JSONEncoder().encode(values)) ?? Data("[]".utf8), as: UTF8.self) }
        let tensors: [(name: String, shape: [Int], values: [Float])] = [
            (name: "text_classifier", shape: [text.rows, text.columns], values: text.values),
            (name: "keys", shape: [keys.rows, keys.columns], values: keys.values),
            (name: "key_classes", shape: [keys.rows], values: classifier.prototypes.keyClasses.map(Float.init)),
            (name: "alpha", shape: [1], values: [classifier.head.alpha]),
            (name: "beta", shape: [1], values: [classifier.head.beta]),
            (name: "logit_scale", shape: [1], values: [classifier.logitScale]),
        ]
        let classNamesText = json(classNames)
        try SafeTensorsWriter.write(
            tensors,
            metadata: [
                "class_names": classNamesText, "templates": json(templates), "prototype_kind": classifier.prototypes.kind.rawValue,
                "model_digest": modelDigest, "version": upadapterVersion,
                checksumKey: checksum(tensors.map(\.values), classNamesText: classNamesText),
            ],
            to: url)
    }

    /// Reads an adapter written by `write`.
    /// - Throws: `CLIPEncoderError` naming the file and tensor when something is missing or
    ///   mis-shaped, holds NaN or an infinity, or a head parameter out of its range (`alpha` in
    ///   [0, 1000], `beta` and `logit_scale` in (0, 1000]), or a key class outside the classes;
    ///   `invalidSafeTensorsHeader` when the values differ from the `tensors_sha256` they were written with.
    public static func read(_ url: URL) throws -> Contents {
        let file = try SafeTensorsFile(url: url)
        var checksumVerified = false
        if let expected = file.metadata[checksumKey] {
            let tensors = try tensorNames.map { try file.floats($0) }
            let actual = checksum(tensors, classNamesText: file.metadata["class_names"] ?? "")
            guard actual == expected else {
                throw CLIPEncoderError.invalidSafeTensorsHeader(
                    path: url.path, reason: "its tensors or class names differ from the checksum written with them "
                        + "(\(checksumKey) \(expected.prefix(16))…, values give \(actual.prefix(16))…): the file was altered or damaged "
                        + "after it was written; train the adapter again or restore the file")
            }
            checksumVerified = true
        }
        func finite(_ name: String) throws -> [Float] {
            let values = try file.floats(name)
            if let index = values.firstIndex(where: { !$0.isFinite }) {
                throw CLIPEncoderError.nonFiniteTensor(path: url.path, tensor: name, index: index, value: values[index])
            }
            return values
        }
        func matrix(_ name: String) throws -> HostMatrix {
            let info = try file.info(name)
            guard info.shape.count == 2 else {
                throw CLIPEncoderError.tensorShapeMismatch(path: url.path, tensor: name, expected: [-1, -1], actual: info.shape)
            }
            return try HostMatrix(values: try finite(name), rows: info.shape[0], columns: info.shape[1])
        }
        func scalar(_ name: String, in range: ClosedRange<Float>, lowerOpen: Bool) throws -> Float {
            let values = try finite(name)
            guard values.count == 1, let value = values.first else {
                throw CLIPEncoderError.tensorShapeMismatch(path: url.path, tensor: name, expected: [1], actual: [values.count])
            }
            guard range.contains(value), !(lowerOpen && value == range.lowerBound) else {
                throw CLIPEncoderError.invalidTensorEntry(
                    path: url.path, tensor: name,
                    reason: "value \(value) is outside \(lowerOpen ? "(" : "[")\(range.lowerBound), \(range.upperBound)]")
            }
            return value
        }
        let text = try matrix("text_classifier"), keys = try matrix("keys")
        let classNames: [String]
        do {
            classNames = try JSONDecoder().decode([String].self, from: Data((file.metadata["class_names"] ?? "[]").utf8))
        } catch {
            throw CLIPEncoderError.invalidSafeTensorsHeader(path: url.path, reason: "metadata 'class_names': \(ReadableError.reason(error))")
        }
        guard classNames.count == text.rows else {
            throw CLIPEncoderError.invalidTensorEntry(path: url.path, tensor: "text_classifier",
                                                      reason: "\(text.rows) rows but \(classNames.count) class names in the metadata")
        }
        let kind = PrototypeKind(rawValue: file.metadata["prototype_kind"] ?? "") ?? .cache
        var keyClasses: [Int] = []
        for (index, value) in try finite("key_classes").enumerated() {
            guard value.rounded() == value, value >= 0, value < Float(text.rows) else {
                throw CLIPEncoderError.invalidTensorEntry(
                    path: url.path, tensor: "key_classes", reason: "element \(index) is \(value), not a class index below \(text.rows)")
            }
            keyClasses.append(Int(value))
        }
        let prototypes = try Prototypes(kind: kind, keys: keys, keyClasses: keyClasses, classCount: text.rows)
        let classifier = try AdaptedClassifier(
            textClassifier: text, prototypes: prototypes,
            head: HeadParameters(alpha: try scalar("alpha", in: 0...1000, lowerOpen: false), beta: try scalar("beta", in: 0...1000, lowerOpen: true)),
            logitScale: try scalar("logit_scale", in: 0...1000, lowerOpen: true))
        return Contents(classifier: classifier, classNames: classNames, modelDigest: file.metadata["model_digest"] ?? "",
                        checksumVerified: checksumVerified)
    }
}
