import CLIPEncoder
import Compute
import Foundation
import PrototypeTrainer

/// The trained adapter as one safetensors file: everything `upadapter predict` needs besides
/// the CLIP model itself.
///
/// Tensors: `text_classifier` `[classes, dim]`, `keys` `[keys, dim]`, `key_classes` `[keys]`
/// (class index per key, as floats), `alpha`, `beta`, `logit_scale` (scalars as `[1]`).
/// Metadata: `class_names` and `templates` (JSON arrays), `prototype_kind`, `model_digest`, `version`.
public enum AdapterFile {
    /// A loaded adapter.
    public struct Contents: Sendable {
        public let classifier: AdaptedClassifier
        public let classNames: [String]
        public let modelDigest: String
    }

    public static func write(classifier: AdaptedClassifier, classNames: [String], templates: [String], modelDigest: String, to url: URL) throws {
        let text = classifier.textClassifier, keys = classifier.prototypes.keys
        let json = { (values: [String]) in String(decoding: (try? JSONEncoder().encode(values)) ?? Data("[]".utf8), as: UTF8.self) }
        try SafeTensorsWriter.write(
            [
                (name: "text_classifier", shape: [text.rows, text.columns], values: text.values),
                (name: "keys", shape: [keys.rows, keys.columns], values: keys.values),
                (name: "key_classes", shape: [keys.rows], values: classifier.prototypes.keyClasses.map(Float.init)),
                (name: "alpha", shape: [1], values: [classifier.head.alpha]),
                (name: "beta", shape: [1], values: [classifier.head.beta]),
                (name: "logit_scale", shape: [1], values: [classifier.logitScale]),
            ],
            metadata: [
                "class_names": json(classNames), "templates": json(templates), "prototype_kind": classifier.prototypes.kind.rawValue,
                "model_digest": modelDigest, "version": upadapterVersion,
            ],
            to: url)
    }

    /// Reads an adapter written by `write`.
    /// - Throws: `CLIPEncoderError` naming the file and tensor when something is missing or mis-shaped.
    public static func read(_ url: URL) throws -> Contents {
        let file = try SafeTensorsFile(url: url)
        func matrix(_ name: String) throws -> HostMatrix {
            let info = try file.info(name)
            guard info.shape.count == 2 else {
                throw CLIPEncoderError.tensorShapeMismatch(path: url.path, tensor: name, expected: [-1, -1], actual: info.shape)
            }
            return try HostMatrix(values: try file.floats(name), rows: info.shape[0], columns: info.shape[1])
        }
        func scalar(_ name: String) throws -> Float {
            guard let value = try file.floats(name).first else {
                throw CLIPEncoderError.tensorShapeMismatch(path: url.path, tensor: name, expected: [1], actual: [0])
            }
            return value
        }
        let text = try matrix("text_classifier"), keys = try matrix("keys")
        let classNames = try JSONDecoder().decode([String].self, from: Data((file.metadata["class_names"] ?? "[]").utf8))
        guard classNames.count == text.rows else {
            throw CLIPEncoderError.invalidTensorEntry(path: url.path, tensor: "text_classifier",
                                                      reason: "\(text.rows) rows but \(classNames.count) class names in the metadata")
        }
        let kind = PrototypeKind(rawValue: file.metadata["prototype_kind"] ?? "") ?? .cache
        let prototypes = try Prototypes(kind: kind, keys: keys, keyClasses: try file.floats("key_classes").map { Int($0) }, classCount: text.rows)
        let classifier = try AdaptedClassifier(
            textClassifier: text, prototypes: prototypes,
            head: HeadParameters(alpha: try scalar("alpha"), beta: try scalar("beta")), logitScale: try scalar("logit_scale"))
        return Contents(classifier: classifier, classNames: classNames, modelDigest: file.metadata["model_digest"] ?? "")
    }
}
