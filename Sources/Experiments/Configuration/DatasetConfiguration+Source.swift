import Datasets
import Foundation

extension ExperimentConfiguration.Dataset {
    /// The reader this section describes, with configured class names and transform applied.
    /// - Throws: `ExperimentsError` when the section cannot describe a dataset (unknown name,
    ///   missing class names) or the class-names file cannot be read.
    public func makeSource() throws -> any DatasetSource {
        let options = DatasetReadOptions(verifyImageFiles: verifyFiles)
        let overrideNames = try configuredClassNames()
        var source: any DatasetSource
        switch kind {
        case .coop:
            guard let dataset = CoOpDataset(named: name) else {
                throw ExperimentsError.unsupportedDataset(
                    name: name, reason: "not a CoOp dataset; known: " + CoOpDataset.allCases.map(\.rawValue).joined(separator: ", "))
            }
            source = dataset.source(root: try requiredRoot(), options: options)
        case .imagenet:
            source = ImageNetSource(root: try requiredRoot())
        case .imagenetVariant:
            guard let variant = ImageNetVariant(named: name) else {
                throw ExperimentsError.unsupportedDataset(
                    name: name, reason: "not an ImageNet variant; known: " + ImageNetVariant.allCases.map(\.rawValue).joined(separator: ", "))
            }
            source = ImageNetVariantSource(variant: variant, root: try requiredRoot())
        case .folder:
            source = ImageFolderSource(
                name: name, root: try requiredRoot(), layout: folder.layout, testFraction: folder.testFraction,
                validationFraction: folder.validationFraction, seed: UInt64(max(folder.seed, 0)))
        case .idx:
            guard let classNames = overrideNames?.names ?? IDXSource.builtInClassNames(for: name) else {
                throw ExperimentsError.unsupportedDataset(name: name, reason: "an IDX dataset needs class_names or class_names_file")
            }
            return try wrapTransform(IDXSource(name: name, files: idxSplitFiles(), classNames: classNames))
        }
        if let overrideNames {
            source = RenamedClassesSource(base: source, classNames: overrideNames.names, namesSource: overrideNames.source)
        }
        return try wrapTransform(source)
    }

    /// The IDX files of each split: those configured, else the standard names in `root`
    /// (default: Debian's Fashion-MNIST folder).
    public func idxSplitFiles() -> [String: IDXSource.SplitFiles] {
        let folder = root ?? IDXSource.defaultFashionMNISTFolder
        var files = IDXSource.standardFiles(in: folder)
        if let images = idx.trainImages, let labels = idx.trainLabels {
            files[SplitName.train] = IDXSource.SplitFiles(images: images, labels: labels)
        }
        if let images = idx.testImages, let labels = idx.testLabels {
            files[SplitName.test] = IDXSource.SplitFiles(images: images, labels: labels)
        }
        return files
    }

    private func requiredRoot() throws -> URL {
        guard let root else { throw ExperimentsError.missingKey(keyPath: "dataset.root", file: "dataset section of \(name)") }
        return root
    }

    private func wrapTransform(_ source: any DatasetSource) throws -> any DatasetSource {
        guard let transform else { return source }
        return TransformedSource(base: source, transform: transform)
    }

    /// `class_names`, or the lines of `class_names_file`, with where they came from.
    private func configuredClassNames() throws -> (names: [String], source: String)? {
        if let classNames { return (classNames, "dataset.class_names") }
        if let classNamesFile {
            let names = try FileSystem.lines(of: classNamesFile, dataset: name).map(\.text)
            guard !names.isEmpty else {
                throw ExperimentsError.malformedSplitFile(file: classNamesFile.path, reason: "no class names")
            }
            return (names, classNamesFile.path)
        }
        return nil
    }
}
