import Foundation
import Support
import TestSupport
import Testing

@testable import Datasets
@testable import Experiments

// MARK: - Readers on the fixture tree

@Suite("Dataset readers on the fixture tree")
struct DatasetReaderTests {
    static let coopNames = ["Caltech101", "OxfordPets", "StanfordCars", "Flowers102", "Food101",
                            "FGVCAircraft", "SUN397", "DTD", "EuroSAT", "UCF101"]

    @Test("CoOp datasets read every split as the fixture script wrote it", arguments: coopNames)
    func coopDataset(name: String) throws {
        let dataset = try #require(CoOpDataset(named: name))
        let source = dataset.source(root: DatasetFixtures.root)
        #expect(source.name == name)
        #expect(source.availableSplits == ["train", "val", "test"])
        for split in ["train", "val", "test"] {
            try DatasetFixtures.expectMatches(try source.split(split), dataset: name, splitName: split)
        }
    }

    @Test("CoOp names are found with CoOp's own spellings")
    func coopAliases() {
        #expect(CoOpDataset(named: "OxfordFlowers") == .flowers102)
        #expect(CoOpDataset(named: "DescribableTextures") == .dtd)
        #expect(CoOpDataset(named: "oxford_pets") == .oxfordPets)
        #expect(CoOpDataset(named: "fgvc-aircraft") == .fgvcAircraft)
        #expect(CoOpDataset(named: "CIFAR10") == nil)
    }

    @Test("Prompt class names replace underscores by spaces")
    func promptNames() throws {
        let split = try CoOpDataset.oxfordPets.source(root: DatasetFixtures.root).split("test")
        #expect(split.classNames == ["abyssinian", "american_bulldog", "beagle"])
        #expect(split.promptClassNames == ["abyssinian", "american bulldog", "beagle"])
        #expect(split.classCounts == [2, 2, 2])
    }

    @Test("ImageNet: train from images/train, val and test from images/val")
    func imageNet() throws {
        let source = ImageNetSource(root: DatasetFixtures.root)
        for split in ["train", "val", "test"] {
            try DatasetFixtures.expectMatches(try source.split(split), dataset: "ImageNet", splitName: split)
        }
    }

    @Test("ImageNet variants are test-only sets with ImageNet's class order",
          arguments: [ImageNetVariant.v2, .sketch, .adversarial, .rendition])
    func imageNetVariant(variant: ImageNetVariant) throws {
        let source = ImageNetVariantSource(variant: variant, root: DatasetFixtures.root)
        try DatasetFixtures.expectMatches(try source.split("test"), dataset: variant.rawValue, splitName: "test")
        #expect(throws: ExperimentsError.splitNotAvailable(dataset: variant.rawValue, split: "train", available: ["test"])) {
            try source.split("train")
        }
    }

    @Test("ImageNet-R without its own classnames.txt uses ImageNet's")
    func variantClassListFallback() {
        let source = ImageNetVariantSource(variant: .rendition, root: DatasetFixtures.root)
        #expect(source.classListFile().standardizedFileURL.path
            == DatasetFixtures.root.appendingPathComponent("imagenet/classnames.txt").standardizedFileURL.path)
    }

    @Test("Image folder with split folders")
    func folderWithSplitFolders() throws {
        let source = ImageFolderSource(name: "folder_split", root: DatasetFixtures.root.appendingPathComponent("folder_split"))
        #expect(source.resolvedLayout == .splitFolders)
        #expect(source.availableSplits == ["train", "test"])
        for split in ["train", "test"] {
            try DatasetFixtures.expectMatches(try source.split(split), dataset: "folder_split", splitName: split)
        }
    }

    @Test("Image folder split by a seeded fraction matches the script's SplitMix64 shuffle")
    func folderSplitByFraction() throws {
        let parameters = try #require((try DatasetFixtures.expected()["folder_single"] as? [String: Any])?["parameters"] as? [String: Any])
        let source = ImageFolderSource(
            name: "folder_single", root: DatasetFixtures.root.appendingPathComponent("folder_single"),
            testFraction: try #require(parameters["test_fraction"] as? Double),
            validationFraction: try #require(parameters["val_fraction"] as? Double),
            seed: UInt64(try #require(parameters["seed"] as? Int)))
        #expect(source.resolvedLayout == .single)
        var seen: Set<String> = []
        for split in ["train", "val", "test"] {
            let result = try source.split(split)
            try DatasetFixtures.expectMatches(result, dataset: "folder_single", splitName: split)
            for item in result.items {
                let inserted = seen.insert(item.source.fileURL?.path ?? "").inserted
                #expect(inserted)
            }
        }
        #expect(seen.count == 12)
    }

    @Test("IDX files, gzipped and raw, hold the pixels and labels the script wrote", arguments: ["idx", "idx_raw"])
    func idx(folder: String) throws {
        let expected = try #require(try DatasetFixtures.expected()["idx"] as? [String: Any])
        let classNames = try #require(expected["class_names"] as? [String])
        let source = IDXSource(
            name: "tiny", files: IDXSource.standardFiles(in: DatasetFixtures.root.appendingPathComponent(folder)),
            classNames: classNames)
        for splitName in ["train", "test"] {
            let split = try source.split(splitName)
            let entry = try #require(expected[splitName] as? [String: Any])
            let labels = try #require(entry["labels"] as? [Int])
            let pixels = try #require(entry["pixels"] as? [[Int]])
            #expect(split.classNames == classNames)
            #expect(split.labels == labels)
            for (item, expectedPixels) in zip(split.items, pixels) {
                guard case .pixels(let image) = item.source else {
                    Issue.record("IDX item is not in-memory pixels")
                    continue
                }
                #expect(image.height == entry["rows"] as? Int)
                #expect(image.width == entry["columns"] as? Int)
                #expect(image.channels == 1)
                #expect(image.pixels.map(Int.init) == expectedPixels)
            }
        }
    }

    @Test("The installed Fashion-MNIST test set: 10000 images, 1000 per class")
    func realFashionMNIST() throws {
        let folder = IDXSource.defaultFashionMNISTFolder
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("t10k-labels-idx1-ubyte.gz").path),
              let facts = try DatasetFixtures.expected()["fashion_mnist_test"] as? [String: Any]
        else { return }
        let source = IDXSource(name: "fashion-mnist", files: IDXSource.standardFiles(in: folder),
                               classNames: IDXSource.fashionMNISTClassNames)
        let split = try source.split("test")
        #expect(split.items.count == facts["count"] as? Int)
        #expect(split.classCounts == facts["histogram"] as? [Int])
        #expect(split.classCounts == [Int](repeating: 1000, count: 10))
        #expect(Array(split.labels.prefix(20)) == facts["first_labels"] as? [Int])
        guard case .pixels(let first) = split.items[0].source, case .pixels(let last) = split.items[9999].source else {
            Issue.record("Fashion-MNIST items are not in-memory pixels")
            return
        }
        #expect(first.width == 28 && first.height == 28)
        #expect(first.pixels.reduce(0) { $0 + Int($1) } == facts["first_image_pixel_sum"] as? Int)
        #expect(last.pixels.reduce(0) { $0 + Int($1) } == facts["last_image_pixel_sum"] as? Int)
        #expect((0..<28).map { Int(first.value(x: $0, y: 14)) } == facts["first_image_row_14"] as? [Int])
    }

    @Test("Configured class names and transforms are carried through")
    func renamedAndTransformed() throws {
        let base = CoOpDataset.dtd.source(root: DatasetFixtures.root)
        let renamed = RenamedClassesSource(base: base, classNames: ["striped", "spotty"], namesSource: "test")
        #expect(try renamed.split("val").classNames == ["striped", "spotty"])
        let wrongCount = RenamedClassesSource(base: base, classNames: ["one"], namesSource: "names.txt")
        #expect(throws: ExperimentsError.classCountMismatch(source: "names.txt", expected: 2, actual: 1)) {
            try wrongCount.split("val")
        }
        let transform = ImageTransformSpec(name: "rotate", parameters: ["degrees": 90, "fill": 0.5])
        let transformed = TransformedSource(base: base, transform: transform)
        #expect(try transformed.split("test").items.allSatisfy { $0.transform == transform })
        #expect(transform.description == "rotate(degrees=90,fill=0.5)")
    }
}

// MARK: - Error paths

@Suite("Dataset reader errors")
struct DatasetErrorTests {
    /// A temporary data root with a copy of the Oxford Pets fixture.
    private func petsCopy() throws -> (TemporaryFolder, CoOpSplitSource) {
        let temporary = try TemporaryFolder()
        try temporary.copyFixture("oxford_pets")
        return (temporary, CoOpSplitSource(dataset: .oxfordPets, root: temporary.url))
    }

    private func writePetsSplit(_ temporary: TemporaryFolder, train: String, val: String = "[]", test: String = "[]") throws {
        try temporary.write("oxford_pets/split_zhou_OxfordPets.json", #"{"train": \#(train), "val": \#(val), "test": \#(test)}"#)
    }

    @Test("A missing dataset folder names the folder")
    func missingRoot() throws {
        let temporary = try TemporaryFolder()
        let source = CoOpSplitSource(dataset: .caltech101, root: temporary.url)
        #expect(throws: ExperimentsError.datasetFolderMissing(dataset: "Caltech101", path: temporary.path("caltech-101"))) {
            try source.split("train")
        }
    }

    @Test("A missing split file names the file")
    func missingSplitFile() throws {
        let (temporary, source) = try petsCopy()
        try temporary.remove("oxford_pets/split_zhou_OxfordPets.json")
        #expect(throws: ExperimentsError.splitFileMissing(
            dataset: "OxfordPets", path: temporary.path("oxford_pets/split_zhou_OxfordPets.json"))) {
            try source.split("train")
        }
    }

    @Test("Malformed split files name the file and the entry")
    func malformedSplitFile() throws {
        let (temporary, source) = try petsCopy()
        let file = temporary.path("oxford_pets/split_zhou_OxfordPets.json")
        try writePetsSplit(temporary, train: #"[["abyssinian/train_0000.png", 0, "abyssinian"], ["x.png", "zero", "y"]]"#)
        #expect(throws: ExperimentsError.malformedSplitFile(file: file, reason: "train[1] is not [relative_path, label, class_name]")) {
            try source.split("train")
        }
        try temporary.write("oxford_pets/split_zhou_OxfordPets.json", #"{"train": [], "test": []}"#)
        #expect(throws: ExperimentsError.malformedSplitFile(file: file, reason: "missing list 'val'")) {
            try source.split("train")
        }
        try temporary.write("oxford_pets/split_zhou_OxfordPets.json", "{not json")
        #expect(performing: { try source.split("train") }, throws: { error in
            guard case ExperimentsError.malformedSplitFile(let errorFile, let reason) = error else { return false }
            return errorFile == file && reason.hasPrefix("not valid JSON")
        })
    }

    @Test("A gap in the labels is an error naming the file and the label")
    func labelGap() throws {
        let (temporary, source) = try petsCopy()
        try writePetsSplit(temporary, train: #"[["abyssinian/train_0000.png", 0, "abyssinian"], ["beagle/train_0000.png", 2, "beagle"]]"#)
        #expect(throws: ExperimentsError.missingLabel(file: temporary.path("oxford_pets/split_zhou_OxfordPets.json"), label: 1)) {
            try source.split("train")
        }
    }

    @Test("Two names for one label is an error naming both")
    func inconsistentNames() throws {
        let (temporary, source) = try petsCopy()
        try writePetsSplit(temporary, train: #"[["abyssinian/train_0000.png", 0, "abyssinian"]]"#,
                           test: #"[["abyssinian/test_0000.png", 0, "Abyssinian cat"]]"#)
        #expect(throws: ExperimentsError.inconsistentClassName(
            file: temporary.path("oxford_pets/split_zhou_OxfordPets.json"), label: 0, names: ["abyssinian", "Abyssinian cat"])) {
            try source.split("train")
        }
    }

    @Test("A negative label is out of range")
    func negativeLabel() throws {
        let (temporary, source) = try petsCopy()
        try writePetsSplit(temporary, train: #"[["abyssinian/train_0000.png", -1, "abyssinian"]]"#)
        #expect(throws: ExperimentsError.labelOutOfRange(
            file: temporary.path("oxford_pets/split_zhou_OxfordPets.json"), label: -1, classCount: 0)) {
            try source.split("train")
        }
    }

    @Test("A class without images in the split is named")
    func emptyClass() throws {
        let (temporary, source) = try petsCopy()
        try writePetsSplit(temporary, train: #"[["abyssinian/train_0000.png", 0, "abyssinian"]]"#,
                           test: #"[["beagle/test_0000.png", 1, "beagle"]]"#)
        #expect(throws: ExperimentsError.emptyClass(
            dataset: "OxfordPets", split: "train", className: "beagle", location: temporary.path("oxford_pets/split_zhou_OxfordPets.json"))) {
            try source.split("train")
        }
    }

    @Test("A listed image that is missing is named, unless checking is off")
    func missingImage() throws {
        let (temporary, source) = try petsCopy()
        try temporary.remove("oxford_pets/images/beagle/val_0000.png")
        #expect(throws: ExperimentsError.imageMissing(
            path: temporary.path("oxford_pets/images/beagle/val_0000.png"),
            listedIn: temporary.path("oxford_pets/split_zhou_OxfordPets.json"))) {
            try source.split("val")
        }
        let unchecked = CoOpSplitSource(dataset: .oxfordPets, root: temporary.url, options: DatasetReadOptions(verifyImageFiles: false))
        #expect(try unchecked.split("val").items.count == 3)
    }

    @Test("FGVC Aircraft: an unknown variant names the list file and line")
    func fgvcUnknownVariant() throws {
        let temporary = try TemporaryFolder()
        try temporary.copyFixture("fgvc_aircraft")
        try temporary.write("fgvc_aircraft/images_variant_test.txt", "1000200 707-320\n1000201 Boeing 999\n")
        #expect(throws: ExperimentsError.unknownClass(
            name: "Boeing 999", location: "\(temporary.path("fgvc_aircraft/images_variant_test.txt")) line 2",
            classList: temporary.path("fgvc_aircraft/variants.txt"))) {
            try FGVCAircraftSource(root: temporary.url).split("test")
        }
    }

    @Test("ImageNet: an unknown class folder and a class without images are named")
    func imageNetErrors() throws {
        let temporary = try TemporaryFolder()
        try temporary.copyFixture("imagenet")
        try temporary.write("imagenet/images/val/n99999999/x.JPEG", "x")
        let source = ImageNetSource(root: temporary.url)
        #expect(throws: ExperimentsError.unknownClass(
            name: "n99999999", location: temporary.path("imagenet/images/val/n99999999"),
            classList: temporary.path("imagenet/classnames.txt"))) {
            try source.split("test")
        }
        try temporary.remove("imagenet/images/val/n99999999")
        try temporary.remove("imagenet/images/val/n01443537")
        #expect(throws: ExperimentsError.emptyClass(
            dataset: "ImageNet", split: "test", className: "goldfish", location: temporary.path("imagenet/images/val"))) {
            try source.split("test")
        }
    }

    @Test("Image folder: a class missing from one split folder is named")
    func folderEmptyClass() throws {
        let temporary = try TemporaryFolder()
        try temporary.copyFixture("folder_split")
        try temporary.remove("folder_split/test/zebra")
        let source = ImageFolderSource(name: "pets", root: temporary.url.appendingPathComponent("folder_split"))
        #expect(throws: ExperimentsError.emptyClass(
            dataset: "pets", split: "test", className: "zebra", location: temporary.path("folder_split/test"))) {
            try source.split("test")
        }
    }

    @Test("IDX: wrong magic, wrong size, count mismatch, label range and broken gzip are named")
    func idxErrors() throws {
        let temporary = try TemporaryFolder()
        func header(_ magic: UInt32, _ dims: [UInt32]) -> [UInt8] {
            ([magic] + dims).flatMap { value in (0..<4).map { UInt8((value >> (24 - 8 * UInt32($0))) & 0xff) } }
        }
        let images = try temporary.write("images", bytes: header(0x803, [2, 2, 2]) + [1, 2, 3, 4, 5, 6, 7, 8])
        let labels = try temporary.write("labels", bytes: header(0x801, [2]) + [0, 1])
        let good = IDXSource(name: "tiny", files: ["train": .init(images: images, labels: labels)], classNames: ["a", "b"])
        #expect(try good.split("train").labels == [0, 1])
        #expect(throws: ExperimentsError.splitNotAvailable(dataset: "tiny", split: "test", available: ["train"])) {
            try good.split("test")
        }

        let swapped = IDXSource(name: "tiny", files: ["train": .init(images: labels, labels: images)], classNames: ["a", "b"])
        #expect(throws: ExperimentsError.malformedIDX(file: labels.path, reason: "magic number 0x00000801, expected 0x00000803")) {
            try swapped.split("train")
        }

        let short = try temporary.write("short", bytes: header(0x803, [2, 2, 2]) + [1, 2, 3])
        let truncated = IDXSource(name: "tiny", files: ["train": .init(images: short, labels: labels)], classNames: ["a", "b"])
        #expect(throws: ExperimentsError.malformedIDX(file: short.path, reason: "header says 2×2×2 = 8 values, file holds 3")) {
            try truncated.split("train")
        }

        let threeLabels = try temporary.write("labels3", bytes: header(0x801, [3]) + [0, 1, 1])
        let mismatch = IDXSource(name: "tiny", files: ["train": .init(images: images, labels: threeLabels)], classNames: ["a", "b"])
        #expect(throws: ExperimentsError.idxCountMismatch(imagesFile: images.path, images: 2, labelsFile: threeLabels.path, labels: 3)) {
            try mismatch.split("train")
        }

        let highLabel = try temporary.write("labels-high", bytes: header(0x801, [2]) + [0, 5])
        let outOfRange = IDXSource(name: "tiny", files: ["train": .init(images: images, labels: highLabel)], classNames: ["a", "b"])
        #expect(throws: ExperimentsError.labelOutOfRange(file: highLabel.path, label: 5, classCount: 2)) {
            try outOfRange.split("train")
        }

        // A gzip header followed by garbage, and a gzip stream cut short.
        let garbage = try temporary.write("garbage.gz", bytes: [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff])
        #expect(performing: {
            try IDXFile(contentsOf: garbage, expectedMagic: IDXFile.imagesMagic, dataset: "tiny")
        }, throws: { error in
            if case ExperimentsError.decompressionFailed(let file, _) = error { return file == garbage.path }
            return false
        })
        let fullGzip = try Data(contentsOf: DatasetFixtures.root.appendingPathComponent("idx/t10k-images-idx3-ubyte.gz"))
        let cut = try temporary.write("cut.gz", bytes: Array(fullGzip.prefix(fullGzip.count - 12)))
        #expect(throws: ExperimentsError.decompressionFailed(file: cut.path, reason: "data ends in the middle of the stream")) {
            try IDXFile(contentsOf: cut, expectedMagic: IDXFile.imagesMagic, dataset: "tiny")
        }
    }

    @Test("Concatenated gzip members inflate to the concatenated data")
    func multiMemberGzip() throws {
        let member = try Data(contentsOf: DatasetFixtures.root.appendingPathComponent("idx/t10k-labels-idx1-ubyte.gz"))
        let raw = try Data(contentsOf: DatasetFixtures.root.appendingPathComponent("idx_raw/t10k-labels-idx1-ubyte"))
        #expect(try Gzip.inflate(member + member, maximumBytes: 1 << 31) == [UInt8](raw + raw))
    }
}
