import Foundation

/// The standard split names. `train` is the unlabeled pool UPL adapts on; `test` is where
/// accuracy is reported.
public enum SplitName {
    public static let train = "train"
    public static let validation = "val"
    public static let test = "test"
}

/// A dataset that can produce its splits.
public protocol DatasetSource: Sendable {
    /// The dataset's name, carried into every split.
    var name: String { get }
    /// The split names `split(_:)` accepts.
    var availableSplits: [String] { get }
    /// Reads one split.
    /// - Throws: `ExperimentsError` naming the missing or malformed file, folder or label.
    func split(_ name: String) throws -> DatasetSplit
}

/// What the readers check beyond the structure of the files they parse.
public struct DatasetReadOptions: Sendable, Equatable {
    /// Check that every image listed by a split file exists (one `stat` per image).
    /// Folder-based readers list existing files, so this only affects list-based readers.
    public var verifyImageFiles: Bool

    public init(verifyImageFiles: Bool = true) {
        self.verifyImageFiles = verifyImageFiles
    }
}

extension DatasetSource {
    /// Throws `splitNotAvailable` unless `split` is one of `availableSplits`.
    func requireSplit(_ split: String) throws {
        guard availableSplits.contains(split) else {
            throw ExperimentsError.splitNotAvailable(dataset: name, split: split, available: availableSplits)
        }
    }
}

/// A source that replaces the class names of another (configuration `class_names` or
/// `class_names_file`), keeping labels and images.
public struct RenamedClassesSource: DatasetSource {
    /// The source whose images and labels are kept.
    public let base: any DatasetSource
    /// The replacement names, ordered by label.
    public let classNames: [String]
    /// Where the names came from, for error messages.
    public let namesSource: String

    public init(base: any DatasetSource, classNames: [String], namesSource: String) {
        self.base = base
        self.classNames = classNames
        self.namesSource = namesSource
    }

    public var name: String { base.name }
    public var availableSplits: [String] { base.availableSplits }

    public func split(_ name: String) throws -> DatasetSplit {
        var split = try base.split(name)
        guard split.classNames.count == classNames.count else {
            throw ExperimentsError.classCountMismatch(
                source: namesSource, expected: split.classNames.count, actual: classNames.count)
        }
        split.classNames = classNames
        return split
    }
}

/// A source whose items all carry the configured image transform.
public struct TransformedSource: DatasetSource {
    /// The source whose splits are transformed.
    public let base: any DatasetSource
    /// The transform attached to every item.
    public let transform: ImageTransformSpec

    public init(base: any DatasetSource, transform: ImageTransformSpec) {
        self.base = base
        self.transform = transform
    }

    public var name: String { base.name }
    public var availableSplits: [String] { base.availableSplits }

    public func split(_ name: String) throws -> DatasetSplit {
        try base.split(name).withTransform(transform)
    }
}
