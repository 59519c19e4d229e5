import Compute
import Foundation

/// Reads a generic image folder: one sub-folder per class holding image files
/// (`png`, `jpg`, `jpeg`, `bmp`, `gif`, `webp`, `tif`, `tiff`, any case).
///
/// Two layouts:
/// - `splitFolders`: `root/train/<class>/`, `root/test/<class>/` and optionally
///   `root/val/<class>/`; the classes are the union of the class folders of all split
///   folders, sorted, and every split must have an image of every class.
/// - `single`: `root/<class>/`; each class's images (sorted by name) are shuffled with a
///   generator seeded by `seed` and the class's label, then the first
///   `round(testFraction · n)` go to `test`, the next `round(validationFraction · n)` to `val`,
///   the rest to `train` (at least one image stays in `train` and, when `testFraction > 0`, in
///   `test`).
///
/// Class names are the folder names, sorted by code point; prompts use them with `_`
/// replaced by spaces (`DatasetSplit.promptClassNames`).
public struct ImageFolderSource: DatasetSource {
    /// How the folder is organised.
    public enum Layout: String, Sendable, CaseIterable {
        /// `root/train/`, `root/test/` exist: split folders; otherwise a single folder.
        case auto
        /// `root/<split>/<class>/`.
        case splitFolders = "split-folders"
        /// `root/<class>/`, split by a seeded fraction.
        case single
    }

    public let name: String
    /// The folder holding the classes or the split folders.
    public let root: URL
    /// The layout asked for.
    public let layout: Layout
    /// Fraction of each class that goes to `test` (single layout).
    public let testFraction: Double
    /// Fraction of each class that goes to `val` (single layout).
    public let validationFraction: Double
    /// Seed of the per-class shuffle (single layout).
    public let seed: UInt64

    public init(
        name: String, root: URL, layout: Layout = .auto, testFraction: Double = 0.5,
        validationFraction: Double = 0, seed: UInt64 = 1
    ) {
        self.name = name
        self.root = root
        self.layout = layout
        self.testFraction = testFraction
        self.validationFraction = validationFraction
        self.seed = seed
    }

    /// The layout in force once `auto` is decided by looking at the folder.
    public var resolvedLayout: Layout {
        guard layout == .auto else { return layout }
        let hasTrain = FileSystem.isDirectory(root.appendingPathComponent(SplitName.train))
        let hasTest = FileSystem.isDirectory(root.appendingPathComponent(SplitName.test))
            || FileSystem.isDirectory(root.appendingPathComponent(SplitName.validation))
        return hasTrain && hasTest ? .splitFolders : .single
    }

    public var availableSplits: [String] {
        switch resolvedLayout {
        case .splitFolders:
            return [SplitName.train, SplitName.validation, SplitName.test].filter {
                FileSystem.isDirectory(root.appendingPathComponent($0))
            }
        default:
            return validationFraction > 0
                ? [SplitName.train, SplitName.validation, SplitName.test] : [SplitName.train, SplitName.test]
        }
    }

    public func split(_ name: String) throws -> DatasetSplit {
        try FileSystem.requireDirectory(root, dataset: self.name)
        try requireSplit(name)
        switch resolvedLayout {
        case .splitFolders: return try splitFromFolders(name)
        default: return try splitByFraction(name)
        }
    }

    private func splitFromFolders(_ name: String) throws -> DatasetSplit {
        var classSet: Set<String> = []
        for splitName in availableSplits {
            classSet.formUnion(try FileSystem.subdirectories(of: root.appendingPathComponent(splitName, isDirectory: true)))
        }
        let classNames = classSet.sorted(by: codePointLess)
        let splitFolder = root.appendingPathComponent(name, isDirectory: true)
        var items: [LabeledImage] = []
        for (label, className) in classNames.enumerated() {
            let classFolder = splitFolder.appendingPathComponent(className, isDirectory: true)
            guard FileSystem.isDirectory(classFolder) else { continue }
            for file in try FileSystem.imageFiles(in: classFolder) {
                items.append(LabeledImage(source: .file(classFolder.appendingPathComponent(file, isDirectory: false)), label: label))
            }
        }
        let split = DatasetSplit(datasetName: self.name, name: name, classNames: classNames, items: items)
        try requireEveryClassPresent(split, location: splitFolder.path)
        return split
    }

    private func splitByFraction(_ name: String) throws -> DatasetSplit {
        let classNames = try FileSystem.subdirectories(of: root)
        guard !classNames.isEmpty else {
            throw ExperimentsError.unsupportedDataset(name: self.name, reason: "\(root.path) holds no class folders")
        }
        var items: [LabeledImage] = []
        for (label, className) in classNames.enumerated() {
            let classFolder = root.appendingPathComponent(className, isDirectory: true)
            let files = try FileSystem.imageFiles(in: classFolder)
            let assignment = Self.assign(count: files.count, testFraction: testFraction,
                                         validationFraction: validationFraction, seed: seed, label: label)
            for (index, file) in files.enumerated() where assignment[index] == name {
                items.append(LabeledImage(source: .file(classFolder.appendingPathComponent(file, isDirectory: false)), label: label))
            }
        }
        let split = DatasetSplit(datasetName: self.name, name: name, classNames: classNames, items: items)
        try requireEveryClassPresent(split, location: root.path)
        return split
    }

    /// The split of each of a class's `count` files (in sorted-name order): a seeded
    /// Fisher–Yates permutation, then test, val, train in that order.
    static func assign(count: Int, testFraction: Double, validationFraction: Double, seed: UInt64, label: Int) -> [String] {
        var generator = SeededGenerator(seed: seed &* 0x100_0000_01B3 &+ UInt64(label))
        var order = Array(0..<count)
        if count > 1 {
            for index in stride(from: count - 1, to: 0, by: -1) {
                let other = Int(generator.next() % UInt64(index + 1))
                order.swapAt(index, other)
            }
        }
        var testCount = Int((testFraction * Double(count)).rounded())
        var validationCount = Int((validationFraction * Double(count)).rounded())
        if testFraction > 0, count >= 2 { testCount = max(testCount, 1) }
        testCount = min(testCount, max(count - 1, 0))
        validationCount = min(validationCount, max(count - 1 - testCount, 0))
        var result = [String](repeating: SplitName.train, count: count)
        for (position, fileIndex) in order.enumerated() {
            if position < testCount {
                result[fileIndex] = SplitName.test
            } else if position < testCount + validationCount {
                result[fileIndex] = SplitName.validation
            }
        }
        return result
    }
}
