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
            public var layout: ImageFolderSource.Layout = .auto
            public var testFraction: Double = 0.5
            public var validationFraction: Double = 0
            public var seed: Int = 1

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
        public var unlabeledSplit: String = SplitName.train
        /// The labeled split accuracy is reported on.
        public var testSplit: String = SplitName.test
        /// Class names replacing the dataset's own, by label.
        public var classNames: [String]?
        /// A file with one class name per line replacing the dataset's own.
        public var classNamesFile: URL?
        /// Check that every image a split file lists exists.
        public var verifyFiles: Bool = true
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
            unlabeledSplit = reader.string("unlabeled_split", default: SplitName.train)
            testSplit = reader.string("test_split", default: SplitName.test)
            classNames = reader.strings("class_names")
            classNamesFile = reader.path("class_names_file")
            verifyFiles = reader.bool("verify_files", default: true)

            let folderReader = reader.section("folder")
            folder.layout = folderReader.choice("layout", default: .auto)
            folder.testFraction = folderReader.double("test_fraction", default: 0.5)
            folder.validationFraction = folderReader.double("val_fraction", default: 0)
            folder.seed = folderReader.int("seed", default: 1, minimum: 0)

            let idxReader = reader.section("idx")
            idx.trainImages = idxReader.path("train_images")
            idx.trainLabels = idxReader.path("train_labels")
            idx.testImages = idxReader.path("test_images")
            idx.testLabels = idxReader.path("test_labels")

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
            for (key, value) in [("test_fraction", folder.testFraction), ("val_fraction", folder.validationFraction)]
            where !(value >= 0 && value < 1) {
                folderReader.invalid(key, value: formatNumber(value), reason: "must be in [0, 1)")
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
            var pairs: [(String, ConfigurationNode)] = [
                ("kind", .string(kind.rawValue)),
                ("name", .string(name)),
                ("root", .path(root)),
                ("unlabeled_split", .string(unlabeledSplit)),
                ("test_split", .string(testSplit)),
            ]
            if let classNamesFile {
                pairs.append(("class_names_file", .path(classNamesFile)))
            } else {
                pairs.append(("class_names", .strings(classNames)))
            }
            pairs += [
                ("verify_files", .bool(verifyFiles)),
                ("folder", .section([
                    ("layout", .string(folder.layout.rawValue)),
                    ("test_fraction", .double(folder.testFraction)),
                    ("val_fraction", .double(folder.validationFraction)),
                    ("seed", .int(folder.seed)),
                ])),
                ("idx", .section([
                    ("train_images", .path(idx.trainImages)),
                    ("train_labels", .path(idx.trainLabels)),
                    ("test_images", .path(idx.testImages)),
                    ("test_labels", .path(idx.testLabels)),
                ])),
            ]
            if let transform {
                let parameters = ConfigurationNode.section(transform.parameters.keys.sorted().map { ($0, .double(transform.parameters[$0])) })
                pairs.append(("transform", .section([("name", .string(transform.name)), ("parameters", parameters)])))
            } else {
                pairs.append(("transform", .null(origin: .resolved)))
            }
            pairs.append(("class_profile", classProfile?.node ?? .null(origin: .resolved)))
            return .section(pairs)
        }
    }
}
