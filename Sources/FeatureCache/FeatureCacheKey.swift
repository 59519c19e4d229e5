import Datasets
import FileIntegrity
import CLIPEncoder
import Foundation

/// Everything that decides the cached features of a split; two extractions with equal keys
/// give the same features, and any change (model weights, class names, a file, a label, the
/// preprocessing, the transform, the augmented view) gives another key.
public struct FeatureCacheKey: Sendable, Equatable {
    /// Version of the cache's file layout and key recipe; bumping it invalidates old caches.
    public static let formatVersion = 1

    /// `CLIPModel.digest` (configuration and weights).
    public var modelDigest: String
    /// The dataset's name.
    public var dataset: String
    /// The split's name.
    public var split: String
    /// Class names by label.
    public var classNames: [String]
    /// SHA-256 over every item in order: its path (or its pixels), label and transform.
    public var itemsDigest: String
    /// Number of items.
    public var itemCount: Int
    /// `PreprocessorConfiguration.identifier`.
    public var preprocessing: String
    /// The items' transform in canonical form, `none`, or `mixed` when items differ (each
    /// item's own transform is part of `itemsDigest`).
    public var transform: String
    /// 0 for plain preprocessing, `v ≥ 1` for augmented view `v`.
    public var view: Int
    /// `ViewAugmentation.identifier` for augmented views, empty for view 0.
    public var augmentation: String

    /// The key of `split` encoded by a model with `modelDigest` and `preprocessing`.
    public init(
        split: DatasetSplit, modelDigest: String, preprocessing: PreprocessorConfiguration,
        view: Int = 0, augmentation: ViewAugmentation? = nil
    ) {
        self.modelDigest = modelDigest
        dataset = split.datasetName
        self.split = split.name
        classNames = split.classNames
        itemsDigest = Self.itemsDigest(split.items)
        itemCount = split.items.count
        self.preprocessing = preprocessing.identifier
        transform = Self.transformSummary(split.items)
        self.view = view
        self.augmentation = view > 0 ? (augmentation?.identifier ?? "") : ""
    }

    /// The key as text, one `name=value` line per component (class names JSON-encoded).
    public var canonicalText: String {
        let classes = classNames.map(SafeTensorsTextEscaping.jsonString).joined(separator: ",")
        return [
            "format=\(Self.formatVersion)",
            "model=\(modelDigest)",
            "dataset=\(dataset)",
            "split=\(split)",
            "classes=[\(classes)]",
            "items=\(itemCount):\(itemsDigest)",
            "preprocessing=\(preprocessing)",
            "transform=\(transform)",
            "view=\(view)",
            "augmentation=\(augmentation)",
        ].joined(separator: "\n")
    }

    /// The key folder's name: the first 32 hexadecimal digits of SHA-256(`canonicalText`).
    public var hash: String { String(SHA256.hex(Array(canonicalText.utf8)).prefix(32)) }

    /// SHA-256 over the items: for a file `file\t<path>\t<label>\t<transform>\n`; for pixels
    /// `pixels\t<width>\t<height>\t<channels>\t<label>\t<transform>\n` followed by the bytes.
    static func itemsDigest(_ items: [LabeledImage]) -> String {
        var hasher = SHA256()
        for item in items {
            let transform = item.transform.map(canonicalTransform) ?? "-"
            switch item.source {
            case .file(let url):
                hasher.update("file\t\(url.standardizedFileURL.path)\t\(item.label)\t\(transform)\n")
            case .pixels(let image):
                hasher.update("pixels\t\(image.width)\t\(image.height)\t\(image.channels)\t\(item.label)\t\(transform)\n")
                hasher.update(image.pixels)
            }
        }
        return hasher.finalizeHex()
    }

    /// The transform's canonical text (defaults spelled out), or the spec as written when it
    /// does not parse (extraction reports that error).
    static func canonicalTransform(_ spec: ImageTransformSpec) -> String {
        (try? ImageTransform(spec).description) ?? spec.description
    }

    static func transformSummary(_ items: [LabeledImage]) -> String {
        let distinct = Set(items.map { $0.transform.map(canonicalTransform) ?? "none" })
        if distinct.isEmpty { return "none" }
        return distinct.count == 1 ? (distinct.first ?? "none") : "mixed"
    }
}

/// JSON string literals for key texts and metadata.
enum SafeTensorsTextEscaping {
    static func jsonString(_ text: String) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes]),
              let array = String(data: data, encoding: .utf8)
        else { return "\"\(text)\"" }
        return String(array.dropFirst().dropLast())
    }
}
