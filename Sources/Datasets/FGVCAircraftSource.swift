import Foundation

/// Reads FGVC Aircraft as CoOp does: class names (variants) from `variants.txt`, one per
/// line, in label order; split lists `images_variant_{train,val,test}.txt` with lines
/// `<image id> <variant name>`; images at `images/<image id>.jpg`. All under `root/fgvc_aircraft`.
public struct FGVCAircraftSource: DatasetSource {
    /// The data root holding `fgvc_aircraft/`.
    public let root: URL
    /// Whether to check that listed images exist.
    public let options: DatasetReadOptions

    public init(root: URL, options: DatasetReadOptions = DatasetReadOptions()) {
        self.root = root
        self.options = options
    }

    public var name: String { CoOpDataset.fgvcAircraft.rawValue }
    public var availableSplits: [String] { [SplitName.train, SplitName.validation, SplitName.test] }

    /// `root/fgvc_aircraft`.
    public var datasetFolder: URL { root.appendingPathComponent(CoOpDataset.fgvcAircraft.folderName, isDirectory: true) }

    public func split(_ name: String) throws -> DatasetSplit {
        try requireSplit(name)
        try FileSystem.requireDirectory(datasetFolder, dataset: self.name)
        let variantsFile = datasetFolder.appendingPathComponent("variants.txt")
        let classNames = try FileSystem.lines(of: variantsFile, dataset: self.name).map(\.text)
        var labelByName: [String: Int] = [:]
        for (label, className) in classNames.enumerated() {
            if labelByName[className] != nil {
                throw ExperimentsError.malformedSplitFile(file: variantsFile.path, reason: "variant '\(className)' is listed twice")
            }
            labelByName[className] = label
        }
        let imageFolder = datasetFolder.appendingPathComponent("images", isDirectory: true)
        try FileSystem.requireDirectory(imageFolder, dataset: self.name)
        let listFile = datasetFolder.appendingPathComponent("images_variant_\(name).txt")
        var items: [LabeledImage] = []
        for line in try FileSystem.lines(of: listFile, dataset: self.name) {
            let fields = line.text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard fields.count == 2 else {
                throw ExperimentsError.malformedSplitFile(
                    file: listFile.path, reason: "line \(line.number) is not '<image id> <variant>'")
            }
            let className = String(fields[1]).trimmingCharacters(in: .whitespaces)
            guard let label = labelByName[className] else {
                throw ExperimentsError.unknownClass(
                    name: className, location: "\(listFile.path) line \(line.number)", classList: variantsFile.path)
            }
            let url = imageFolder.appendingPathComponent(String(fields[0]) + ".jpg", isDirectory: false)
            if options.verifyImageFiles, !FileSystem.isFile(url) {
                throw ExperimentsError.imageMissing(path: url.path, listedIn: listFile.path)
            }
            items.append(LabeledImage(source: .file(url), label: label))
        }
        let split = DatasetSplit(datasetName: self.name, name: name, classNames: classNames, items: items)
        try requireEveryClassPresent(split, location: listFile.path)
        return split
    }
}
