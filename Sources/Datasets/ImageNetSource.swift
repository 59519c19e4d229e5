import Foundation

/// Reads ImageNet as CoOp lays it out: `root/imagenet/images/{train,val}/<wnid>/*.JPEG` and
/// `root/imagenet/classnames.txt`. Split `train` is the training set; `val` and `test` are
/// both the official validation set (the usual protocol reports on it). Labels follow the
/// order of `classnames.txt`.
public struct ImageNetSource: DatasetSource {
    /// The data root holding `imagenet/`.
    public let root: URL
    /// A class list other than `root/imagenet/classnames.txt`, if given.
    public let classNamesFile: URL?

    public init(root: URL, classNamesFile: URL? = nil) {
        self.root = root
        self.classNamesFile = classNamesFile
    }

    public var name: String { "ImageNet" }
    public var availableSplits: [String] { [SplitName.train, SplitName.validation, SplitName.test] }

    /// `root/imagenet`.
    public var datasetFolder: URL { root.appendingPathComponent("imagenet", isDirectory: true) }

    public func split(_ name: String) throws -> DatasetSplit {
        try requireSplit(name)
        try FileSystem.requireDirectory(datasetFolder, dataset: self.name)
        let classes = try ImageNetClassList(
            contentsOf: classNamesFile ?? datasetFolder.appendingPathComponent("classnames.txt"), dataset: self.name)
        let folderName = name == SplitName.train ? "train" : "val"
        let folder = datasetFolder.appendingPathComponent("images", isDirectory: true)
            .appendingPathComponent(folderName, isDirectory: true)
        try FileSystem.requireDirectory(folder, dataset: self.name)
        let items = try readWordNetFolders(folder, classes: classes, order: classes.wordNetIDs, dataset: self.name)
        let split = DatasetSplit(datasetName: self.name, name: name, classNames: classes.classNames, items: items)
        try requireEveryClassPresent(split, location: folder.path)
        return split
    }
}
