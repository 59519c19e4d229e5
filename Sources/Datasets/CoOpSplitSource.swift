import CLIPEncoder
import FileIntegrity
import Foundation
import Support

/// Reads a dataset through its CoOp split file `split_zhou_<Name>.json`:
/// `{"train": [[relative_path, label, class_name], ...], "val": [...], "test": [...]}`, paths
/// relative to the dataset's image folder. Class names come from the entries of all three
/// splits, ordered by label.
public struct CoOpSplitSource: DatasetSource {
    /// Which dataset, and so which folders and split file.
    public let dataset: CoOpDataset
    /// The data root holding the dataset's folder.
    public let root: URL
    /// Whether to check that listed images exist.
    public let options: DatasetReadOptions

    public init(dataset: CoOpDataset, root: URL, options: DatasetReadOptions = DatasetReadOptions()) {
        self.dataset = dataset
        self.root = root
        self.options = options
    }

    public var name: String { dataset.rawValue }
    public var availableSplits: [String] { [SplitName.train, SplitName.validation, SplitName.test] }

    /// The dataset's folder, `root/<folderName>`.
    public var datasetFolder: URL { root.appendingPathComponent(dataset.folderName, isDirectory: true) }

    /// The folder split-file paths are relative to.
    public var imageFolder: URL {
        dataset.imageFolder.isEmpty ? datasetFolder : datasetFolder.appendingPathComponent(dataset.imageFolder, isDirectory: true)
    }

    /// The split file's location.
    public var splitFile: URL { datasetFolder.appendingPathComponent(dataset.splitFileName ?? "", isDirectory: false) }

    public func split(_ name: String) throws -> DatasetSplit {
        try requireSplit(name)
        try FileSystem.requireDirectory(datasetFolder, dataset: self.name)
        let file = splitFile
        let entries = try CoOpSplitFile.read(file, dataset: self.name)
        let classNames = try CoOpSplitFile.classNames(of: entries, file: file.path)
        try FileSystem.requireDirectory(imageFolder, dataset: self.name)
        let listed = entries[name] ?? []
        var items: [LabeledImage] = []
        items.reserveCapacity(listed.count)
        for entry in listed {
            let url = imageFolder.appendingPathComponent(entry.path, isDirectory: false)
            if options.verifyImageFiles, !FileSystem.isFile(url) {
                throw ExperimentsError.imageMissing(path: url.path, listedIn: file.path)
            }
            items.append(LabeledImage(source: .file(url), label: entry.label))
        }
        let split = DatasetSplit(datasetName: self.name, name: name, classNames: classNames, items: items)
        try requireEveryClassPresent(split, location: file.path)
        return split
    }
}

/// One entry of a CoOp split file.
struct CoOpSplitEntry: Equatable {
    var path: String
    var label: Int
    var className: String
}

/// Parsing of CoOp split files.
enum CoOpSplitFile {
    /// The entries of each split, by split name.
    /// - Throws: `splitFileMissing` when absent, `malformedSplitFile` naming the split and
    ///   entry index that is not `[string, integer, string]`.
    static func read(_ file: URL, dataset: String) throws -> [String: [CoOpSplitEntry]] {
        guard FileSystem.isFile(file) else { throw ExperimentsError.splitFileMissing(dataset: dataset, path: file.path) }
        try RegularFile.require(file)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(contentsOf: file))
        } catch {
            throw ExperimentsError.malformedSplitFile(file: file.path, reason: "not valid JSON (\(ReadableError.reason(error)))")
        }
        guard let object = json as? [String: Any] else {
            throw ExperimentsError.malformedSplitFile(file: file.path, reason: "top level is not an object with train/val/test lists")
        }
        var result: [String: [CoOpSplitEntry]] = [:]
        for splitName in [SplitName.train, SplitName.validation, SplitName.test] {
            guard let list = object[splitName] as? [Any] else {
                throw ExperimentsError.malformedSplitFile(file: file.path, reason: "missing list '\(splitName)'")
            }
            var entries: [CoOpSplitEntry] = []
            entries.reserveCapacity(list.count)
            for (index, element) in list.enumerated() {
                guard let triple = element as? [Any], triple.count == 3,
                      let path = triple[0] as? String,
                      let label = integer(triple[1]),
                      let className = triple[2] as? String
                else {
                    throw ExperimentsError.malformedSplitFile(
                        file: file.path, reason: "\(splitName)[\(index)] is not [relative_path, label, class_name]")
                }
                entries.append(CoOpSplitEntry(path: path, label: label, className: className))
            }
            result[splitName] = entries
        }
        return result
    }

    /// The class names of all entries, ordered by label.
    static func classNames(of entries: [String: [CoOpSplitEntry]], file: String) throws -> [String] {
        var table = ClassTable(file: file)
        for splitName in [SplitName.train, SplitName.validation, SplitName.test] {
            for entry in entries[splitName] ?? [] {
                try table.record(label: entry.label, name: entry.className)
            }
        }
        return try table.orderedNames()
    }

    /// A JSON number that is a whole number, as an `Int`.
    private static func integer(_ value: Any) -> Int? {
        if let integer = value as? Int { return integer }
        if let double = value as? Double, double.rounded() == double, abs(double) < 1e15 { return Int(double) }
        return nil
    }
}
