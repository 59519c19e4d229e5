import CLIPEncoder
import FileIntegrity
import Compute
import Foundation
import TestSupport
import Testing

@testable import Datasets
@testable import Experiments
@testable import FeatureCache

/// Fixtures of the CLIPEncoder tests reused here: the tiny random CLIP (image size 35) and images.
enum FeatureCacheFixtures {
    static let clipFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CLIPEncoderTests/Fixtures", isDirectory: true)
    static let modelFolder = clipFixtures.appendingPathComponent("model", isDirectory: true)
    static let imageFolder = clipFixtures.appendingPathComponent("images", isDirectory: true)

    static func model() throws -> CLIPModel {
        try CLIPModel(directory: modelFolder, backend: CPUBackend())
    }

    /// `count` random grey 28 × 28 images with labels `index % 3`.
    static func inMemorySplit(count: Int = 40, seed: UInt64 = 5, transform: ImageTransformSpec? = nil) -> DatasetSplit {
        var generator = SeededGenerator(seed: seed)
        let items = (0..<count).map { index in
            let pixels = (0..<(28 * 28)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            return LabeledImage(
                source: .pixels(InMemoryImage(width: 28, height: 28, channels: 1, pixels: pixels)), label: index % 3,
                transform: transform)
        }
        return DatasetSplit(datasetName: "tiny-grey", name: "test", classNames: ["zero", "one", "two"], items: items)
    }

    /// PNG fixtures of different sizes and colour types (by default five, one of them 300 × 250).
    static func fileSplit(
        transform: ImageTransformSpec? = nil,
        names: [String] = ["rgb.png", "grey.png", "photo_300x250.png", "tall.png", "palette.png"]
    ) -> DatasetSplit {
        let items = names.enumerated().map { index, name in
            LabeledImage(source: .file(imageFolder.appendingPathComponent(name)), label: index % 2, transform: transform)
        }
        return DatasetSplit(datasetName: "tiny-files", name: "train", classNames: ["even", "odd"], items: items)
    }

    /// The features of `split` computed without the cache: every item loaded, preprocessed
    /// and encoded in one batch, L2-normalised.
    static func directFeatures(_ split: DatasetSplit, model: CLIPModel, view: Int = 0, seed: UInt64 = 0) throws -> [Float] {
        var configuration = model.preprocessorConfiguration
        if view > 0 { configuration.shortestEdge = configuration.cropSize }
        let preprocessor = ImagePreprocessor(configuration: configuration)
        let loader = ItemImageLoader()
        var pixels: [Float] = []
        for (index, item) in split.items.enumerated() {
            var image = try loader.image(for: item, index: index)
            if view > 0 {
                image = try ViewAugmentation(seed: seed, outputSize: model.configuration.vision.imageSize)
                    .apply(to: image, index: index, view: view)
            }
            pixels += preprocessor.preprocess(image)
        }
        return try model.encodeImages(pixels: pixels, normalize: true)
    }
}

/// Wraps a model and counts the images it encodes.
final class CountingEncoder: ImageFeatureEncoder, @unchecked Sendable {
    // @unchecked: `encodedImages` and `calls` are only touched under `lock`.
    let model: CLIPModel
    let digestOverride: String?
    private let lock = NSLock()
    private var encodedCount = 0
    private var callCount = 0

    init(_ model: CLIPModel, digest: String? = nil) {
        self.model = model
        digestOverride = digest
    }

    var digest: String { digestOverride ?? model.digest }
    var preprocessorConfiguration: PreprocessorConfiguration { model.preprocessorConfiguration }
    var inputImageSize: Int { model.inputImageSize }
    var embeddingSize: Int { model.embeddingSize }
    var encodedImages: Int { lock.withLock { encodedCount } }
    var calls: Int { lock.withLock { callCount } }

    func encodeImages(pixels: [Float], normalize: Bool) throws -> [Float] {
        let perImage = 3 * inputImageSize * inputImageSize
        lock.withLock {
            encodedCount += pixels.count / perImage
            callCount += 1
        }
        return try model.encodeImages(pixels: pixels, normalize: normalize)
    }
}

@Suite("Feature cache")
struct FeatureCacheTests {
    static func expectClose(_ actual: [Float], _ expected: [Float], tolerance: Float = 1e-6, _ what: String = "features") {
        #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)")
        guard actual.count == expected.count else { return }
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= tolerance, "\(what): max difference \(worst)")
    }

    @Test("extracted features equal direct encoding; a second extraction reads the cache without the model")
    func extractThenHit() throws {
        let folder = try TemporaryFolder()
        let model = try FeatureCacheFixtures.model()
        let encoder = CountingEncoder(model)
        let split = FeatureCacheFixtures.inMemorySplit()
        var cache = FeatureCache(directory: folder.url)
        cache.chunkSize = 16
        cache.batchSize = 7
        var reports: [(Int, Int)] = []
        let first = try cache.extract(split: split, model: encoder) { reports.append(($0, $1)) }
        #expect(!first.wasCached)
        #expect(first.count == 40 && first.dimension == model.embeddingSize && first.firstIndex == 0)
        #expect(first.labels == split.labels)
        #expect(first.statistics.computedChunks == [0, 1, 2])
        #expect(first.statistics.encodedImages == 40)
        #expect(encoder.encodedImages == 40 && encoder.calls == 8)  // chunks 16 = 7 + 7 + 2, twice, then 8 = 7 + 1
        #expect(reports.last.map { [$0.0, $0.1] } == [40, 40])
        #expect(reports.map(\.0) == reports.map(\.0).sorted())
        Self.expectClose(first.features, try FeatureCacheFixtures.directFeatures(split, model: model))
        for row in 0..<first.count {
            let norm = first.feature(row).reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(norm - 1) < 1e-5)
        }

        let keyFolder = folder.url.appendingPathComponent(first.key.hash)
        #expect(first.file == keyFolder.appendingPathComponent("features.safetensors"))
        #expect(!FileManager.default.fileExists(atPath: keyFolder.appendingPathComponent("chunks").path))
        let manifest = try FeatureCacheManifest.read(folder: keyFolder)
        #expect(manifest.status == "complete" && manifest.count == 40 && manifest.dim == model.embeddingSize)
        #expect(manifest.modelDigest == model.digest && manifest.dataset == "tiny-grey" && manifest.split == "test")
        let file = try SafeTensorsFile(url: first.file)
        #expect(try file.info("features").shape == [40, model.embeddingSize])
        #expect(try file.info("labels").shape == [40])
        for name in ["model_digest", "dataset", "split", "count", "dim", "file_list_digest", "created", "tool_version"] {
            #expect(file.metadata[name] != nil, "metadata lacks \(name)")
        }
        #expect(file.metadata["count"] == "40")

        let second = try cache.extract(split: split, model: encoder)
        #expect(second.wasCached)
        #expect(encoder.encodedImages == 40, "the cache hit ran the model")
        #expect(second.features == first.features && second.labels == first.labels)

        // The static convenience finds the same cache.
        let third = try FeatureCache.extract(split: split, model: encoder, cacheDirectory: folder.url, batchSize: 5)
        #expect(third.wasCached && third.features == first.features)
    }

    @Test("file items with a transform match loading, transforming and encoding them directly")
    func fileItemsWithTransform() throws {
        let folder = try TemporaryFolder()
        let model = try FeatureCacheFixtures.model()
        let names = ["rgb.png", "grey.png", "tall.png", "palette.png", "rgb.png"]
        let split = FeatureCacheFixtures.fileSplit(
            transform: ImageTransformSpec(name: "blur_noise", parameters: ["noise": 0.05]), names: names)
        var cache = FeatureCache(directory: folder.url)
        cache.batchSize = 2
        let result = try cache.extract(split: split, model: model)
        #expect(result.count == 5 && result.labels == [0, 1, 0, 1, 0])
        Self.expectClose(result.features, try FeatureCacheFixtures.directFeatures(split, model: model))
        // The same file at two indices gets different noise, hence different features.
        #expect(result.feature(0) != result.feature(4))
        let plain = try cache.extract(split: FeatureCacheFixtures.fileSplit(names: names), model: model)
        #expect(plain.key.hash != result.key.hash)
        #expect(!plain.wasCached)
        #expect(plain.features != result.features)
    }

    @Test("draft decoding reduces large JPEG items before encoding, under its own key; small JPEGs and PNGs are unchanged")
    func draftDecoding() throws {
        let folder = try TemporaryFolder()
        let model = try FeatureCacheFixtures.model()
        // For the 35-pixel model: 300×250 and 257×203 are reduced by 4, 80×60 is not (60 / 35 = 1),
        // nor is the PNG.
        let names = ["draft_rgb_300x250.jpg", "draft_odd_257x203.jpg", "rgb.jpg", "photo_300x250.png"]
        let split = FeatureCacheFixtures.fileSplit(names: names)
        var cache = FeatureCache(directory: folder.url)
        cache.batchSize = 3
        let full = try cache.extract(split: split, model: model)
        cache.jpegDecoding = .draft
        #expect(cache.preprocessing(for: model).jpegDecoding == .draft)
        let draft = try cache.extract(split: split, model: model)
        #expect(!draft.wasCached && draft.key.hash != full.key.hash, "draft features must not share the full ones' entry")

        var configuration = model.preprocessorConfiguration
        configuration.jpegDecoding = .draft
        let pixels = try ImagePreprocessor(configuration: configuration)
            .preprocess(files: names.map { FeatureCacheFixtures.imageFolder.appendingPathComponent($0) })
        Self.expectClose(draft.features, try model.encodeImages(pixels: pixels, normalize: true))
        #expect(draft.feature(0) != full.feature(0) && draft.feature(1) != full.feature(1))
        #expect(draft.feature(2) == full.feature(2) && draft.feature(3) == full.feature(3))
        #expect(try cache.extract(split: split, model: model).wasCached)
    }

    @Test("the preprocessing pipeline is part of the key: changing it extracts again, with that pipeline's values")
    func pipelineKey() throws {
        let folder = try TemporaryFolder()
        let model = try FeatureCacheFixtures.model()
        // A palette and an RGBA file: openai resizes them in their own mode, the transformers
        // pipelines convert them first (onto white where there is alpha).
        let names = ["palette.png", "rgba.png", "rgb.png"]
        let split = FeatureCacheFixtures.fileSplit(names: names)
        var cache = FeatureCache(directory: folder.url)
        cache.batchSize = 2
        // The fixture model is a Hugging Face folder: transformers-pil by default.
        #expect(cache.preprocessing(for: model).pipeline == .transformersPil)
        let byDefault = try cache.extract(split: split, model: model)
        var hashes = [byDefault.key.hash]
        for pipeline in PreprocessingPipeline.allCases {
            cache.pipeline = pipeline
            let features = try cache.extract(split: split, model: model)
            if pipeline != .transformersPil { hashes.append(features.key.hash) }
            #expect(features.wasCached == (pipeline == .transformersPil), "\(pipeline.rawValue)")
            var configuration = model.preprocessorConfiguration
            configuration.pipeline = pipeline
            let pixels = try ImagePreprocessor(configuration: configuration)
                .preprocess(files: names.map { FeatureCacheFixtures.imageFolder.appendingPathComponent($0) })
            Self.expectClose(features.features, try model.encodeImages(pixels: pixels, normalize: true), tolerance: 1e-6, pipeline.rawValue)
        }
        #expect(Set(hashes).count == 3, "each pipeline has its own entry")
    }

    @Test("an interrupted extraction resumes: complete chunks are reused, missing and corrupt ones computed")
    func resumeAfterInterruption() throws {
        let folder = try TemporaryFolder()
        let reference = try TemporaryFolder()
        let model = try FeatureCacheFixtures.model()
        let encoder = CountingEncoder(model)
        let split = FeatureCacheFixtures.inMemorySplit()
        var cache = FeatureCache(directory: folder.url)
        cache.chunkSize = 8
        cache.batchSize = 8
        cache.stopAfterComputedChunks = 3
        #expect(throws: FeatureCacheError.stoppedAfterChunks(count: 3)) { try cache.extract(split: split, model: encoder) }
        #expect(encoder.encodedImages == 24)
        let key = cache.key(split: split, model: encoder)
        let chunks = folder.url.appendingPathComponent(key.hash).appendingPathComponent("chunks")
        let names = try FileManager.default.contentsOfDirectory(atPath: chunks.path).sorted()
        #expect(names == ["chunk-000000.safetensors", "chunk-000001.safetensors", "chunk-000002.safetensors"])
        #expect(!FileManager.default.fileExists(atPath: folder.url.appendingPathComponent(key.hash).appendingPathComponent("features.safetensors").path))
        #expect(try FeatureCacheManifest.read(folder: folder.url.appendingPathComponent(key.hash)).status == "in_progress")

        // A killed writer leaves a truncated chunk and a stray temporary file.
        let truncated = chunks.appendingPathComponent("chunk-000001.safetensors")
        let bytes = try Data(contentsOf: truncated)
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        try Data("partial".utf8).write(to: chunks.appendingPathComponent(".chunk-000003.safetensors.999.42.tmp"))

        cache.stopAfterComputedChunks = nil
        let resumed = try cache.extract(split: split, model: encoder)
        #expect(!resumed.wasCached)
        #expect(resumed.statistics.reusedChunks == [0, 2])
        #expect(resumed.statistics.computedChunks == [1, 3, 4])
        #expect(resumed.statistics.discardedFiles == ["chunk-000001.safetensors"])
        #expect(resumed.statistics.encodedImages == 24)
        #expect(encoder.encodedImages == 48)
        #expect(!FileManager.default.fileExists(atPath: chunks.path))

        var uninterrupted = FeatureCache(directory: reference.url)
        uninterrupted.chunkSize = 8
        uninterrupted.batchSize = 8
        let expected = try uninterrupted.extract(split: split, model: model)
        #expect(resumed.features == expected.features)
        #expect(resumed.labels == expected.labels)
    }

    @Test("a corrupt or foreign final file is replaced, never used")
    func corruptFinalFile() throws {
        let folder = try TemporaryFolder()
        let model = try FeatureCacheFixtures.model()
        let split = FeatureCacheFixtures.inMemorySplit(count: 6)
        let cache = FeatureCache(directory: folder.url)
        let first = try cache.extract(split: split, model: model)
        let bytes = try Data(contentsOf: first.file)
        try bytes.prefix(bytes.count - 10).write(to: first.file)
        let second = try cache.extract(split: split, model: model)
        #expect(!second.wasCached)
        #expect(second.statistics.discardedFiles == ["features.safetensors"])
        #expect(second.features == first.features)

        // Temporary files a killed writer left: an old one is cleared, a recent one may be a live writer's.
        let keyFolder = first.file.deletingLastPathComponent()
        let stale = keyFolder.appendingPathComponent(".features.safetensors.17.42.tmp")
        let recent = keyFolder.appendingPathComponent(".features.safetensors.18.43.tmp")
        try Data("partial".utf8).write(to: stale)
        try Data("partial".utf8).write(to: recent)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: stale.path)
        try FileManager.default.removeItem(at: first.file)
        _ = try cache.extract(split: split, model: model)
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(FileManager.default.fileExists(atPath: recent.path))

        // Chunks left beside a complete final file (a writer killed between the two) are dropped by the next hit.
        let chunks = keyFolder.appendingPathComponent("chunks")
        try FileManager.default.createDirectory(at: chunks, withIntermediateDirectories: true)
        try Data("chunk".utf8).write(to: chunks.appendingPathComponent("chunk-000000.safetensors"))
        #expect(try cache.extract(split: split, model: model).wasCached)
        #expect(!FileManager.default.fileExists(atPath: chunks.path))

        // A valid file of another key copied into this folder is refused too.
        let other = try cache.extract(split: FeatureCacheFixtures.inMemorySplit(count: 6, seed: 99), model: model)
        try FileManager.default.removeItem(at: first.file)
        try FileManager.default.copyItem(at: other.file, to: first.file)
        let third = try cache.extract(split: split, model: model)
        #expect(!third.wasCached)
        #expect(third.features == first.features)
    }

    @Test("shards 0/3, 1/3, 2/3 merged equal the unsharded features")
    func shardsAndMerge() throws {
        let folder = try TemporaryFolder()
        let reference = try TemporaryFolder()
        let model = try FeatureCacheFixtures.model()
        let encoder = CountingEncoder(model)
        let split = FeatureCacheFixtures.inMemorySplit()
        var cache = FeatureCache(directory: folder.url)
        cache.chunkSize = 5
        var parts: [FeatureSet] = []
        for index in [0, 2] {
            parts.append(try cache.extract(split: split, model: encoder, shard: try FeatureShard(index: index, count: 3)))
        }
        #expect(parts.map(\.firstIndex) == [0, 26])
        #expect(parts.map(\.count) == [13, 14])
        #expect(parts[1].labels == Array(split.labels[26..<40]))

        let partial = try FeatureCache.merge(directory: folder.url)
        #expect(partial.count == 1)
        #expect(partial.first?.status == .incomplete(missing: [1]))
        #expect(partial.first?.shardCount == 3)

        let middle = try cache.extract(split: split, model: encoder, shard: try FeatureShard(parsing: "1/3"))
        #expect(middle.firstIndex == 13 && middle.count == 13)
        // Asking again for a shard reads its file.
        let again = try cache.extract(split: split, model: encoder, shard: try FeatureShard(index: 1, count: 3))
        #expect(again.wasCached && again.features == middle.features)
        #expect(encoder.encodedImages == 40)

        let outcomes = try FeatureCache.merge(directory: folder.url)
        #expect(outcomes.map(\.status) == [.merged])
        #expect(outcomes.first?.count == 40)
        #expect(outcomes.first?.dataset == "tiny-grey" && outcomes.first?.split == "test")
        let keyFolder = folder.url.appendingPathComponent(middle.key.hash)
        #expect(try FileManager.default.contentsOfDirectory(atPath: keyFolder.appendingPathComponent("shards").path).isEmpty)
        #expect(try FeatureCacheManifest.read(folder: keyFolder).status == "complete")

        let merged = try cache.extract(split: split, model: encoder)
        #expect(merged.wasCached)
        #expect(encoder.encodedImages == 40)
        let whole = try FeatureCache(directory: reference.url).extract(split: split, model: model)
        Self.expectClose(merged.features, whole.features)
        #expect(merged.labels == whole.labels)
        #expect(merged.features == parts[0].features + middle.features + parts[1].features)

        // A shard request on a complete folder slices the final file.
        let slice = try cache.extract(split: split, model: encoder, shard: try FeatureShard(index: 2, count: 3))
        #expect(slice.wasCached && slice.features == parts[1].features)
        #expect(throws: FeatureCacheError.self) { try FeatureShard(index: 3, count: 3) }
        #expect(throws: FeatureCacheError.self) { try FeatureShard(parsing: "1-3") }
    }

    @Test("a plain extraction merges a complete set of shards instead of running the model")
    func extractMergesShards() throws {
        let folder = try TemporaryFolder()
        let model = try FeatureCacheFixtures.model()
        let encoder = CountingEncoder(model)
        let split = FeatureCacheFixtures.inMemorySplit(count: 9)
        let cache = FeatureCache(directory: folder.url)
        var rows: [Float] = []
        for index in 0..<2 {
            rows += try cache.extract(split: split, model: encoder, shard: try FeatureShard(index: index, count: 2)).features
        }
        let whole = try cache.extract(split: split, model: encoder)
        #expect(whole.wasCached && whole.statistics.mergedShards)
        #expect(whole.features == rows)
        #expect(encoder.encodedImages == 9)
    }

    @Test("augmented views are cached per view and equal augmenting then encoding directly")
    func augmentedViews() throws {
        let folder = try TemporaryFolder()
        let model = try FeatureCacheFixtures.model()
        let split = FeatureCacheFixtures.fileSplit()
        var cache = FeatureCache(directory: folder.url)
        cache.augmentationSeed = 3
        let plain = try cache.extract(split: split, model: model)
        let first = try cache.extract(split: split, model: model, view: 1)
        let second = try cache.extract(split: split, model: model, view: 2)
        #expect(Set([plain.key.hash, first.key.hash, second.key.hash]).count == 3)
        #expect(first.features != plain.features && second.features != first.features)
        Self.expectClose(first.features, try FeatureCacheFixtures.directFeatures(split, model: model, view: 1, seed: 3))
        #expect(try cache.extract(split: split, model: model, view: 1).wasCached)
        cache.augmentationSeed = 4
        #expect(cache.key(split: split, model: model, view: 1) != first.key)
        #expect(cache.key(split: split, model: model, view: 0) == plain.key)
    }

    @Test("the key changes with the model, transform, items, labels, classes, preprocessing and view")
    func keyComponents() throws {
        let model = try FeatureCacheFixtures.model()
        let split = FeatureCacheFixtures.inMemorySplit(count: 4)
        let cache = FeatureCache(directory: FileManager.default.temporaryDirectory)
        let base = cache.key(split: split, model: model)
        #expect(cache.key(split: split, model: model) == base)
        #expect(base.hash.count == 32)
        #expect(base.transform == "none")

        var variants: [String: FeatureCacheKey] = [:]
        variants["model digest"] = cache.key(split: split, model: CountingEncoder(model, digest: "0123abcd"))
        variants["transform"] = cache.key(split: split.withTransform(ImageTransformSpec(name: "invert")), model: model)
        variants["transform parameter"] = cache.key(
            split: split.withTransform(ImageTransformSpec(name: "blur_noise", parameters: ["noise": 0.2])), model: model)
        var relabelled = split
        relabelled.items[2].label = 0
        variants["label"] = cache.key(split: relabelled, model: model)
        var repainted = split
        if case .pixels(var image) = repainted.items[3].source {
            image.pixels[100] = image.pixels[100] &+ 1
            repainted.items[3].source = .pixels(image)
        }
        variants["pixels"] = cache.key(split: repainted, model: model)
        var renamed = split
        renamed.classNames[1] = "uno"
        variants["class names"] = cache.key(split: renamed, model: model)
        var otherSplit = split
        otherSplit.name = "train"
        variants["split"] = cache.key(split: otherSplit, model: model)
        variants["view"] = cache.key(split: split, model: model, view: 1)
        var preprocessing = model.preprocessorConfiguration
        preprocessing.shortestEdge += 1
        variants["preprocessing"] = FeatureCacheKey(split: split, modelDigest: model.digest, preprocessing: preprocessing)
        for (name, key) in variants {
            #expect(key.hash != base.hash, "changing the \(name) kept the key")
        }
        #expect(Set(variants.values.map(\.hash)).count == variants.count)

        // The same transform spelled with or without its defaults shares a key.
        let spelled = cache.key(
            split: split.withTransform(ImageTransformSpec(name: "blur_noise", parameters: ["noise": 0.15, "seed": 1])), model: model)
        let defaulted = cache.key(split: split.withTransform(ImageTransformSpec(name: "blur_noise")), model: model)
        #expect(spelled == defaulted)
        #expect(defaulted.transform == "blur_noise(blur=binomial5,noise=0.15,seed=1)")
    }

    @Test("SHA-256 matches the standard test vectors")
    func sha256() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hex(long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let longer = Array(("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
            + "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu").utf8)
        #expect(SHA256.hex(longer) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        // Fed in uneven pieces through both update paths (expected: Python's hashlib.sha256(bytes(range(256)) * 3)).
        let bytes = (0..<768).map { UInt8($0 % 256) }
        var hasher = SHA256()
        var offset = 0
        for (step, size) in [1, 63, 64, 65, 3, 200, 120].enumerated() {
            let piece = Array(bytes[offset..<(offset + size)])
            if step % 2 == 0 { hasher.update(piece) } else { hasher.update(AnySequence(piece)) }
            offset += size
        }
        hasher.update(Array(bytes[offset...]))
        #expect(hasher.finalizeHex() == "f3a25aa93aa2fbba28d79260535bbd6a5eb0fc1c24a8b0f04e12b484c1dfe363")
        var mixed = SHA256()
        mixed.update("ab")
        mixed.update(AnySequence([UInt8(ascii: "c")]))
        #expect(mixed.finalizeHex() == SHA256.hex(Array("abc".utf8)))
    }

    @Test("an empty split gives an empty feature set, cached like any other")
    func emptySplit() throws {
        let folder = try TemporaryFolder()
        let model = try FeatureCacheFixtures.model()
        let split = DatasetSplit(datasetName: "empty", name: "test", classNames: ["a"], items: [])
        let cache = FeatureCache(directory: folder.url)
        let first = try cache.extract(split: split, model: model)
        #expect(first.count == 0 && first.features.isEmpty && first.labels.isEmpty && !first.wasCached)
        let second = try cache.extract(split: split, model: model)
        #expect(second.wasCached && second.count == 0 && second.dimension == model.embeddingSize)
    }

    @Test("settings that cannot work are refused")
    func invalidSettings() throws {
        let folder = try TemporaryFolder()
        let model = try FeatureCacheFixtures.model()
        var cache = FeatureCache(directory: folder.url)
        cache.batchSize = 0
        #expect(throws: FeatureCacheError.self) { try cache.extract(split: FeatureCacheFixtures.inMemorySplit(count: 2), model: model) }
        cache.batchSize = 4
        let broken = DatasetSplit(
            datasetName: "broken", name: "test", classNames: ["a"],
            items: [LabeledImage(source: .pixels(InMemoryImage(width: 2, height: 2, channels: 1, pixels: [1])), label: 0)])
        #expect(throws: FeatureCacheError.self) { try cache.extract(split: broken, model: model) }
    }
}
