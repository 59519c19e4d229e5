import Datasets
import FeatureCache
import Foundation
import Support

extension ExperimentConfiguration {
    /// `model`: the CLIP checkpoint.
    public struct Model: Sendable, Equatable {
        /// A CLIP model folder: Hugging Face (`config.json`, `model.safetensors`, `vocab.json`,
        /// `merges.txt`) or open_clip (`open_clip_config.json`, `open_clip_model.safetensors`;
        /// ViT or ResNet). Required.
        public var path: URL

        public init(path: URL) {
            self.path = path
        }

        init(reading reader: ConfigurationReader) {
            if let path = reader.path("path") {
                self.path = path
            } else {
                if !reader.has("path") { reader.missing("path") }
                self.path = URL(fileURLWithPath: "/")
            }
        }

        var node: ConfigurationNode { .section([("path", .path(path))]) }
    }

    /// `dataset`: which images, where, and how to read them.
    public struct Dataset: Sendable, Equatable {
        /// The reader to use.
        public enum Kind: String, Sendable, CaseIterable {
            /// A CoOp-protocol dataset (`name` one of `CoOpDataset`), CoOp folder layout.
            case coop
            /// ImageNet with CoOp's folder layout.
            case imagenet
            /// ImageNet-V2, -Sketch, -A or -R (test only).
            case imagenetVariant = "imagenet-variant"
            /// A folder of class folders.
            case folder
            /// MNIST-style IDX files.
            case idx
        }

        /// `dataset.folder`: options of the generic image-folder reader.
        public struct FolderOptions: Sendable, Equatable {
            public var layout = ConfigurationKeys.Dataset.folderLayout.defaultValue
            public var testFraction = ConfigurationKeys.Dataset.folderTestFraction.defaultValue
            public var validationFraction = ConfigurationKeys.Dataset.folderValidationFraction.defaultValue
            public var seed = ConfigurationKeys.Dataset.folderSeed.defaultValue

            public init() {}
        }

        /// `dataset.idx`: IDX file locations; absent ones default to the standard MNIST names in `root`.
        public struct IDXFiles: Sendable, Equatable {
            public var trainImages: URL?
            public var trainLabels: URL?
            public var testImages: URL?
            public var testLabels: URL?

            public init() {}
        }

        public var kind: Kind
        /// The dataset's name: a `CoOpDataset` or `ImageNetVariant` name for those kinds,
        /// free text otherwise (used in reports and cache keys).
        public var name: String
        /// The data root (CoOp kinds: the folder holding `caltech-101/`, `imagenet/`, ...;
        /// `folder`: the image folder itself; `idx`: the folder holding the IDX files).
        public var root: URL?
        /// The split adapted on without labels.
        public var unlabeledSplit = ConfigurationKeys.Dataset.unlabeledSplit.defaultValue
        /// The labeled split accuracy is reported on.
        public var testSplit = ConfigurationKeys.Dataset.testSplit.defaultValue
        /// Class names replacing the dataset's own, by label.
        public var classNames: [String]?
        /// A file with one class name per line replacing the dataset's own.
        public var classNamesFile: URL?
        /// Check that every image a split file lists exists.
        public var verifyFiles = ConfigurationKeys.Dataset.verifyFiles.defaultValue
        public var folder = FolderOptions()
        public var idx = IDXFiles()
        /// A deterministic transformation for whoever decodes the images.
        public var transform: ImageTransformSpec?
        /// How many images of each class the unlabeled and the test split keep (a seeded
        /// subsample drawn after feature extraction, so the cache of the full splits is reused);
        /// nil keeps every image.
        public var classProfile: ClassProfile?

        public init(kind: Kind, name: String, root: URL?) {
            self.kind = kind
            self.name = name
            self.root = root
        }

        init(reading reader: ConfigurationReader) {
            let kindText = reader.requiredString("kind")
            kind = Kind(rawValue: kindText) ?? .folder
            if !kindText.isEmpty, Kind(rawValue: kindText) == nil {
                reader.invalid("kind", value: kindText, reason: "expected one of " + Kind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            name = reader.requiredString("name")
            root = reader.path("root")
            typealias Key = ConfigurationKeys.Dataset
            unlabeledSplit = reader.value(Key.unlabeledSplit)
            testSplit = reader.value(Key.testSplit)
            classNames = reader.value(Key.classNames)
            classNamesFile = reader.value(Key.classNamesFile)?.url
            verifyFiles = reader.value(Key.verifyFiles)

            let folderReader = reader.section("folder")
            folder.layout = folderReader.value(Key.folderLayout)
            folder.testFraction = folderReader.value(Key.folderTestFraction)
            folder.validationFraction = folderReader.value(Key.folderValidationFraction)
            folder.seed = folderReader.value(Key.folderSeed)

            let idxReader = reader.section("idx")
            let idxFiles = Key.idxFiles.map { idxReader.value($0)?.url }
            (idx.trainImages, idx.trainLabels, idx.testImages, idx.testLabels) = (idxFiles[0], idxFiles[1], idxFiles[2], idxFiles[3])

            let transformReader = reader.section("transform")
            let transformName = transformReader.string("name")
            let parameters = transformReader.numberMap("parameters")
            if let transformName {
                let spec = ImageTransformSpec(name: transformName, parameters: parameters)
                transform = spec
                // The transform's names, parameters and ranges are checked here, when the
                // configuration is read, not when the first image is decoded.
                do {
                    _ = try ImageTransform(spec)
                } catch {
                    transformReader.invalid("name", value: spec.description, reason: String(describing: error))
                }
            } else if reader.has("transform") {
                transformReader.missing("name")
            }

            if reader.has("class_profile") {
                classProfile = ClassProfile(reading: reader.section("class_profile"))
            }

            validate(reader: reader, folderReader: folderReader, idxReader: idxReader)
        }

        private func validate(reader: ConfigurationReader, folderReader: ConfigurationReader, idxReader: ConfigurationReader) {
            let splitNames = [SplitName.train, SplitName.validation, SplitName.test]
            for (key, value) in [("unlabeled_split", unlabeledSplit), ("test_split", testSplit)] where !splitNames.contains(value) {
                reader.invalid(key, value: value, reason: "expected one of " + splitNames.joined(separator: ", "))
            }
            if kind != .idx, root == nil, !reader.has("root") { reader.missing("root") }
            if !name.isEmpty {
                if kind == .coop, CoOpDataset(named: name) == nil {
                    reader.invalid("name", value: name, reason: "kind coop expects one of " + CoOpDataset.allCases.map(\.rawValue).joined(separator: ", "))
                }
                if kind == .imagenetVariant, ImageNetVariant(named: name) == nil {
                    reader.invalid("name", value: name, reason: "kind imagenet-variant expects one of " + ImageNetVariant.allCases.map(\.rawValue).joined(separator: ", "))
                }
            }
            if let classNames, classNames.isEmpty {
                reader.invalid("class_names", value: "[]", reason: "must list at least one class")
            }
            if folder.testFraction + folder.validationFraction >= 1 {
                folderReader.invalid("val_fraction", value: formatNumber(folder.validationFraction),
                                     reason: "test_fraction + val_fraction must be below 1")
            }
            for (imagesKey, labelsKey, images, labels) in [
                ("train_images", "train_labels", idx.trainImages, idx.trainLabels),
                ("test_images", "test_labels", idx.testImages, idx.testLabels),
            ] where (images == nil) != (labels == nil) {
                idxReader.missing(images == nil ? imagesKey : labelsKey)
            }
            if kind == .idx, classNames == nil, classNamesFile == nil, IDXSource.builtInClassNames(for: name) == nil, !name.isEmpty {
                reader.invalid("name", value: name,
                               reason: "an idx dataset other than fashion-mnist or mnist needs class_names or class_names_file")
            }
        }

        var node: ConfigurationNode {
            typealias Key = ConfigurationKeys.Dataset
            var pairs: [(String, ConfigurationNode)] = [
                (Key.kind.name, .string(kind.rawValue)),
                (Key.name.name, .string(name)),
                (Key.root.name, .path(root)),
                Key.unlabeledSplit.entry(unlabeledSplit),
                Key.testSplit.entry(testSplit),
            ]
            if let classNamesFile {
                pairs.append(Key.classNamesFile.entry(ConfigurationPath(url: classNamesFile)))
            } else {
                pairs.append(Key.classNames.entry(classNames))
            }
            pairs += [
                Key.verifyFiles.entry(verifyFiles),
                ("folder", .section([
                    Key.folderLayout.entry(folder.layout),
                    Key.folderTestFraction.entry(folder.testFraction),
                    Key.folderValidationFraction.entry(folder.validationFraction),
                    Key.folderSeed.entry(folder.seed),
                ])),
                ("idx", .section(zip(Key.idxFiles, [idx.trainImages, idx.trainLabels, idx.testImages, idx.testLabels]).map { key, url in
                    key.entry(url.map(ConfigurationPath.init(url:)))
                })),
            ]
            if let transform {
                let parameters = ConfigurationNode.section(transform.parameters.keys.sorted().map { ($0, .double(transform.parameters[$0])) })
                pairs.append((Key.transform.name, .section([(Key.transformName.name, .string(transform.name)), (Key.transformParameters.name, parameters)])))
            } else {
                pairs.append((Key.transform.name, .null(origin: .resolved)))
            }
            pairs.append((Key.classProfile.name, classProfile?.node ?? .null(origin: .resolved)))
            return .section(pairs)
        }
    }
}
