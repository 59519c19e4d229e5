import Foundation

/// ImageNet's class list from `classnames.txt`: lines `<wnid> <class name>` (the name may
/// contain spaces), in label order (the usual file lists WordNet ids sorted, as the folders are).
public struct ImageNetClassList: Sendable, Equatable {
    /// WordNet ids (`n01440764`, ...), in label order.
    public var wordNetIDs: [String]
    /// Class names, in label order.
    public var classNames: [String]
    /// The file they came from.
    public var file: URL

    /// Reads and checks a `classnames.txt`.
    /// - Throws: `splitFileMissing` when absent, `malformedSplitFile` for a line without a
    ///   name or a WordNet id listed twice.
    public init(contentsOf file: URL, dataset: String) throws {
        var ids: [String] = []
        var names: [String] = []
        var seen: Set<String> = []
        for line in try FileSystem.lines(of: file, dataset: dataset) {
            let fields = line.text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard fields.count == 2 else {
                throw ExperimentsError.malformedSplitFile(file: file.path, reason: "line \(line.number) is not '<wnid> <class name>'")
            }
            let id = String(fields[0])
            guard seen.insert(id).inserted else {
                throw ExperimentsError.malformedSplitFile(file: file.path, reason: "line \(line.number): '\(id)' is listed twice")
            }
            ids.append(id)
            names.append(String(fields[1]).trimmingCharacters(in: .whitespaces))
        }
        self.wordNetIDs = ids
        self.classNames = names
        self.file = file
    }

    /// The label of each WordNet id.
    public var labelByID: [String: Int] {
        Dictionary(uniqueKeysWithValues: wordNetIDs.enumerated().map { ($1, $0) })
    }
}

/// Reads class folders named by WordNet id: every visible sub-folder of `folder` must be in
/// `classes`; images are the folder's image files, sorted. Returns the items labelled by the
/// position of their WordNet id in `order`.
func readWordNetFolders(
    _ folder: URL, classes: ImageNetClassList, order: [String], dataset: String
) throws -> [LabeledImage] {
    let known = classes.labelByID
    let labelInOrder = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
    var items: [LabeledImage] = []
    for subfolder in try FileSystem.subdirectories(of: folder) {
        guard known[subfolder] != nil, let label = labelInOrder[subfolder] else {
            throw ExperimentsError.unknownClass(
                name: subfolder, location: folder.appendingPathComponent(subfolder).path, classList: classes.file.path)
        }
        let classFolder = folder.appendingPathComponent(subfolder, isDirectory: true)
        for file in try FileSystem.imageFiles(in: classFolder) {
            items.append(LabeledImage(source: .file(classFolder.appendingPathComponent(file, isDirectory: false)), label: label))
        }
    }
    return items
}
