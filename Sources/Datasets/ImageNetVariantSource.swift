import Foundation

/// The ImageNet test sets for domain generalisation.
public enum ImageNetVariant: String, CaseIterable, Sendable {
    case v2 = "ImageNetV2"
    case sketch = "ImageNetSketch"
    case adversarial = "ImageNetA"
    case rendition = "ImageNetR"

    /// Finds a variant by name, ignoring case, `_`, `-` and spaces (`imagenet-v2`, `ImageNet_A`).
    public init?(named name: String) {
        let key = name.lowercased().filter { $0 != "_" && $0 != "-" && $0 != " " }
        guard let found = Self.allCases.first(where: { $0.rawValue.lowercased() == key }) else { return nil }
        self = found
    }

    /// The dataset's folder under the data root.
    public var folderName: String {
        switch self {
        case .v2: return "imagenetv2"
        case .sketch: return "imagenet-sketch"
        case .adversarial: return "imagenet-adversarial"
        case .rendition: return "imagenet-rendition"
        }
    }

    /// The image folder inside the dataset folder.
    public var imageFolder: String {
        switch self {
        case .v2: return "imagenetv2-matched-frequency-format-val"
        case .sketch: return "images"
        case .adversarial: return "imagenet-a"
        case .rendition: return "imagenet-r"
        }
    }
}

/// Reads an ImageNet test variant. Class names come from `classnames.txt` in the variant's
/// folder (CoOp's layout: a copy of ImageNet's), else from `root/imagenet/classnames.txt`.
///
/// - ImageNet-V2: `imagenetv2/imagenetv2-matched-frequency-format-val/<label>/*.jpeg`,
///   folders named by ImageNet label index 0...999.
/// - ImageNet-Sketch: `imagenet-sketch/images/<wnid>/`, 1000 classes.
/// - ImageNet-A / -R: `imagenet-adversarial/imagenet-a/<wnid>/`,
///   `imagenet-rendition/imagenet-r/<wnid>/`: the classes are the WordNet ids present
///   (200), ordered as in ImageNet's class list, named from it.
///
/// These sets have only a `test` split.
public struct ImageNetVariantSource: DatasetSource {
    /// Which variant.
    public let variant: ImageNetVariant
    /// The data root holding the variant's folder.
    public let root: URL
    /// A class list to use instead of the default locations, if given.
    public let classNamesFile: URL?

    public init(variant: ImageNetVariant, root: URL, classNamesFile: URL? = nil) {
        self.variant = variant
        self.root = root
        self.classNamesFile = classNamesFile
    }

    public var name: String { variant.rawValue }
    public var availableSplits: [String] { [SplitName.test] }

    /// `root/<variant folder>`.
    public var datasetFolder: URL { root.appendingPathComponent(variant.folderName, isDirectory: true) }

    /// The class list in use: the configured file, else the variant's own copy, else ImageNet's.
    public func classListFile() -> URL {
        if let classNamesFile { return classNamesFile }
        let own = datasetFolder.appendingPathComponent("classnames.txt")
        if FileSystem.isFile(own) { return own }
        let imageNet = root.appendingPathComponent("imagenet", isDirectory: true).appendingPathComponent("classnames.txt")
        return FileSystem.isFile(imageNet) ? imageNet : own
    }

    public func split(_ name: String) throws -> DatasetSplit {
        try requireSplit(name)
        try FileSystem.requireDirectory(datasetFolder, dataset: self.name)
        let classes = try ImageNetClassList(contentsOf: classListFile(), dataset: self.name)
        let folder = datasetFolder.appendingPathComponent(variant.imageFolder, isDirectory: true)
        try FileSystem.requireDirectory(folder, dataset: self.name)

        let classNames: [String]
        let items: [LabeledImage]
        switch variant {
        case .v2:
            classNames = classes.classNames
            items = try readIndexFolders(folder, classCount: classes.classNames.count, classList: classes.file.path)
        case .sketch:
            classNames = classes.classNames
            items = try readWordNetFolders(folder, classes: classes, order: classes.wordNetIDs, dataset: self.name)
        case .adversarial, .rendition:
            let present = Set(try FileSystem.subdirectories(of: folder))
            let labelByID = classes.labelByID
            for id in present where labelByID[id] == nil {
                throw ExperimentsError.unknownClass(
                    name: id, location: folder.appendingPathComponent(id).path, classList: classes.file.path)
            }
            let order = classes.wordNetIDs.filter { present.contains($0) }
            classNames = order.compactMap { labelByID[$0].map { classes.classNames[$0] } }
            items = try readWordNetFolders(folder, classes: classes, order: order, dataset: self.name)
        }
        let split = DatasetSplit(datasetName: self.name, name: name, classNames: classNames, items: items)
        try requireEveryClassPresent(split, location: folder.path)
        return split
    }

    /// ImageNet-V2's folders `0`...`classCount-1`, each holding the images of that label.
    private func readIndexFolders(_ folder: URL, classCount: Int, classList: String) throws -> [LabeledImage] {
        var byLabel: [Int: [LabeledImage]] = [:]
        for subfolder in try FileSystem.subdirectories(of: folder) {
            guard let label = Int(subfolder) else {
                throw ExperimentsError.unknownClass(
                    name: subfolder, location: folder.appendingPathComponent(subfolder).path,
                    classList: "label indices 0..<\(classCount) of \(classList)")
            }
            guard label >= 0, label < classCount else {
                throw ExperimentsError.labelOutOfRange(
                    file: folder.appendingPathComponent(subfolder).path, label: label, classCount: classCount)
            }
            let classFolder = folder.appendingPathComponent(subfolder, isDirectory: true)
            byLabel[label] = try FileSystem.imageFiles(in: classFolder).map {
                LabeledImage(source: .file(classFolder.appendingPathComponent($0, isDirectory: false)), label: label)
            }
        }
        return byLabel.keys.sorted().flatMap { byLabel[$0] ?? [] }
    }
}
