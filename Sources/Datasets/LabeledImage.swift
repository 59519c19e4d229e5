import Foundation
import Support

/// Pixels held in memory, row-major with interleaved channels: `[height, width, channels]`,
/// one byte per channel value (0...255).
public struct InMemoryImage: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// 1 (grey) or 3 (RGB).
    public var channels: Int
    /// `width · height · channels` bytes, row by row.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The value of channel `channel` at column `x`, row `y`.
    public func value(x: Int, y: Int, channel: Int = 0) -> UInt8 {
        pixels[(y * width + x) * channels + channel]
    }
}

/// Where an image's pixels come from.
public enum ImageSource: Sendable, Equatable {
    /// An encoded image file (PNG, JPEG, ...) to decode when needed.
    case file(URL)
    /// Pixels already in memory (IDX datasets such as Fashion-MNIST).
    case pixels(InMemoryImage)

    /// The file path, or `nil` for in-memory pixels.
    public var fileURL: URL? {
        if case .file(let url) = self { return url }
        return nil
    }
}

/// A deterministic image transformation named by the configuration (`dataset.transform`).
/// The dataset readers only carry it on each item; whoever decodes the image applies it.
public struct ImageTransformSpec: Sendable, Equatable, CustomStringConvertible {
    /// The transformation's name, for example `rotate`.
    public var name: String
    /// Numeric parameters by name, for example `["degrees": 90]`.
    public var parameters: [String: Double]

    public init(name: String, parameters: [String: Double] = [:]) {
        self.name = name
        self.parameters = parameters
    }

    /// A canonical text such as `rotate(degrees=90)`, parameters sorted by name; suitable for
    /// cache keys.
    public var description: String {
        if parameters.isEmpty { return name }
        let list = parameters.keys.sorted().map { key in "\(key)=\(formatNumber(parameters[key] ?? 0))" }
        return "\(name)(\(list.joined(separator: ",")))"
    }
}

/// One image of a dataset split with its class label.
public struct LabeledImage: Sendable, Equatable {
    /// The image file or its pixels.
    public var source: ImageSource
    /// Index into the split's `classNames`.
    public var label: Int
    /// A transformation to apply after decoding, if the configuration asks for one.
    public var transform: ImageTransformSpec?

    public init(source: ImageSource, label: Int, transform: ImageTransformSpec? = nil) {
        self.source = source
        self.label = label
        self.transform = transform
    }
}

/// One split (`train`, `val` or `test`) of a dataset: its classes and its labeled images.
public struct DatasetSplit: Sendable, Equatable {
    /// The dataset's name, as in the configuration (`OxfordPets`, `fashion-mnist`, ...).
    public var datasetName: String
    /// `train`, `val` or `test`.
    public var name: String
    /// Class names ordered by label, as the dataset spells them (may contain underscores).
    public var classNames: [String]
    /// The images, in a deterministic order.
    public var items: [LabeledImage]

    public init(datasetName: String, name: String, classNames: [String], items: [LabeledImage]) {
        self.datasetName = datasetName
        self.name = name
        self.classNames = classNames
        self.items = items
    }

    /// Class names for prompts: underscores replaced by spaces (`american_bulldog` →
    /// `american bulldog`), as CoOp does before filling templates.
    public var promptClassNames: [String] {
        classNames.map { $0.replacingOccurrences(of: "_", with: " ") }
    }

    /// The number of images of each class, indexed by label.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classNames.count)
        for item in items where item.label >= 0 && item.label < counts.count {
            counts[item.label] += 1
        }
        return counts
    }

    /// The labels of all items, in item order.
    public var labels: [Int] { items.map(\.label) }

    /// A copy whose items all carry `transform`.
    public func withTransform(_ transform: ImageTransformSpec?) -> DatasetSplit {
        var copy = self
        copy.items = items.map { LabeledImage(source: $0.source, label: $0.label, transform: transform) }
        return copy
    }
}
