import Foundation

/// Reads an IDX dataset (MNIST, Fashion-MNIST): per split an images file (magic
/// `0x00000803`, `[count, rows, columns]` unsigned bytes) and a labels file (magic
/// `0x00000801`, `[count]`), gzipped or not. Items hold their grey pixels in memory.
public struct IDXSource: DatasetSource {
    /// The images and labels files of one split.
    public struct SplitFiles: Sendable, Equatable {
        public var images: URL
        public var labels: URL

        public init(images: URL, labels: URL) {
            self.images = images
            self.labels = labels
        }
    }

    /// Fashion-MNIST's class names, by label.
    public static let fashionMNISTClassNames = [
        "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
    ]
    /// MNIST's class names (the digits), by label.
    public static let mnistClassNames = (0...9).map(String.init)
    /// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST.
    public static let defaultFashionMNISTFolder = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist", isDirectory: true)

    public let name: String
    /// The files of each split, by split name.
    public let files: [String: SplitFiles]
    /// Class names by label.
    public let classNames: [String]

    public init(name: String, files: [String: SplitFiles], classNames: [String]) {
        self.name = name
        self.files = files
        self.classNames = classNames
    }

    /// The standard MNIST file names in `folder`: `train-images-idx3-ubyte[.gz]`,
    /// `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]`
    /// (the gzipped name when that file exists, else the plain one).
    public static func standardFiles(in folder: URL) -> [String: SplitFiles] {
        func pick(_ base: String) -> URL {
            let gzipped = folder.appendingPathComponent(base + ".gz")
            return FileSystem.isFile(gzipped) ? gzipped : folder.appendingPathComponent(base)
        }
        return [
            SplitName.train: SplitFiles(images: pick("train-images-idx3-ubyte"), labels: pick("train-labels-idx1-ubyte")),
            SplitName.test: SplitFiles(images: pick("t10k-images-idx3-ubyte"), labels: pick("t10k-labels-idx1-ubyte")),
        ]
    }

    /// The built-in class names for a dataset name (`fashion-mnist`, `mnist`, any case, `_` or `-`).
    public static func builtInClassNames(for name: String) -> [String]? {
        switch name.lowercased().filter({ $0 != "_" && $0 != "-" && $0 != " " }) {
        case "fashionmnist": return fashionMNISTClassNames
        case "mnist": return mnistClassNames
        default: return nil
        }
    }

    public var availableSplits: [String] {
        [SplitName.train, SplitName.validation, SplitName.test].filter { files[$0] != nil }
    }

    public func split(_ name: String) throws -> DatasetSplit {
        try requireSplit(name)
        guard let splitFiles = files[name] else {
            throw ExperimentsError.splitNotAvailable(dataset: self.name, split: name, available: availableSplits)
        }
        let images = try IDXFile(contentsOf: splitFiles.images, expectedMagic: IDXFile.imagesMagic, dataset: self.name)
        let labels = try IDXFile(contentsOf: splitFiles.labels, expectedMagic: IDXFile.labelsMagic, dataset: self.name)
        let imageCount = images.dimensions[0]
        let labelCount = labels.dimensions[0]
        guard imageCount == labelCount else {
            throw ExperimentsError.idxCountMismatch(
                imagesFile: splitFiles.images.path, images: imageCount, labelsFile: splitFiles.labels.path, labels: labelCount)
        }
        guard imageCount > 0 else {
            throw ExperimentsError.malformedIDX(file: splitFiles.images.path, reason: "it holds no image")
        }
        let rows = images.dimensions[1]
        let columns = images.dimensions[2]
        guard rows > 0, columns > 0 else {
            throw ExperimentsError.malformedIDX(file: splitFiles.images.path, reason: "images are \(rows)×\(columns)")
        }
        let pixelCount = rows * columns
        var items: [LabeledImage] = []
        items.reserveCapacity(imageCount)
        for index in 0..<imageCount {
            let label = Int(labels.values[index])
            guard label < classNames.count else {
                throw ExperimentsError.labelOutOfRange(file: splitFiles.labels.path, label: label, classCount: classNames.count)
            }
            let pixels = Array(images.values[(index * pixelCount)..<((index + 1) * pixelCount)])
            items.append(LabeledImage(
                source: .pixels(InMemoryImage(width: columns, height: rows, channels: 1, pixels: pixels)), label: label))
        }
        return DatasetSplit(datasetName: self.name, name: name, classNames: classNames, items: items)
    }
}
