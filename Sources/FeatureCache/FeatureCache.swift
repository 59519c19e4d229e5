import CLIPEncoder
import Datasets
import Foundation
import Support

/// Image features of dataset splits, computed once and kept on disk.
///
/// Layout of `directory` (one folder per `FeatureCacheKey`, named by its hash):
/// ```
/// <key-hash>/features.safetensors          features [n, dim] F32, labels [n] F32, metadata
/// <key-hash>/manifest.json                 the key's components and the folder's state
/// <key-hash>/chunks/chunk-000123.safetensors      rows of an extraction in progress
/// <key-hash>/shards/shard-i-of-n.safetensors      rows of shard i of n (merged later)
/// <key-hash>/shards/shard-i-of-n.chunks/…         chunks of a shard in progress
/// ```
/// Every file is written to a temporary name and renamed, so an interrupted run (Ctrl-C,
/// `kill -9`, power loss after the rename) never leaves a partial file under a real name; the
/// next run reuses every complete chunk, recomputes missing or unreadable ones, assembles the
/// final file and removes the chunks.
public struct FeatureCache: Sendable {
    /// Name of the final file in a key folder.
    public static let featuresFileName = "features.safetensors"
    /// Name of the manifest in a key folder.
    public static let manifestFileName = "manifest.json"
    /// Name of the lock file held while a key folder's features are extracted or merged.
    static let extractionLockName = ".extract.lock"

    /// The cache's root folder (created when needed).
    public var directory: URL
    /// Images per chunk file: the work an interruption can lose.
    public var chunkSize = 1024
    /// Images per model call. Two batches of preprocessed pixels are held at once (the one
    /// being encoded and the next one, prepared meanwhile).
    public var batchSize = 64
    /// The preprocessing pipeline; nil keeps the model's (the checkpoint format's default).
    /// Part of the keys: changing it extracts again.
    public var pipeline: PreprocessingPipeline?
    /// Where the center crop starts when `(side − crop) / 2` is a half, replacing the
    /// pipeline's own rule; nil keeps the pipeline's (part of the keys only when it differs).
    public var cropRounding: CenterCropRounding?
    /// Whether JPEG files are decoded at full size or in draft mode; replaces the model's own
    /// setting (part of the keys only in draft mode).
    public var jpegDecoding: JPEGDecoding = .full
    /// Seed of the augmented views (`view ≥ 1`); part of their keys.
    public var augmentationSeed: UInt64 = 0
    /// How items become images.
    public var loader = ItemImageLoader()
    /// The tool version written into metadata and manifests unless told otherwise: this
    /// package's (`upadapterVersion`, the one place it is written).
    public static let defaultToolVersion = "upadapter \(upadapterVersion)"
    /// Written into metadata and manifests.
    public var toolVersion = FeatureCache.defaultToolVersion
    /// Stop with `FeatureCacheError.stoppedAfterChunks` once this many chunks have been
    /// computed in one call (chunks stay on disk for the next call): bounded runs and tests.
    public var stopAfterComputedChunks: Int?
    /// Told about cache files that are discarded and computed again (altered values, wrong
    /// header, truncation) and about waiting for another process; prints to standard error.
    public var warn: @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
    }

    /// A cache rooted at `directory`.
    public init(directory: URL) {
        self.directory = directory
    }

    /// The key of `split` encoded by `model`, plain (`view` 0) or as augmented view `view`.
    public func key(split: DatasetSplit, model: any ImageFeatureEncoder, view: Int = 0) -> FeatureCacheKey {
        FeatureCacheKey(
            split: split, modelDigest: model.digest, preprocessing: preprocessing(for: model), view: view,
            augmentation: view > 0 ? ViewAugmentation(seed: augmentationSeed, outputSize: model.inputImageSize) : nil)
    }

    /// How this cache preprocesses images for `model`: the model's configuration with this
    /// cache's pipeline, crop rounding and JPEG decoding.
    public func preprocessing(for model: any ImageFeatureEncoder) -> PreprocessorConfiguration {
        var configuration = model.preprocessorConfiguration
        if let pipeline { configuration.pipeline = pipeline }
        configuration.cropRounding = cropRounding
        configuration.jpegDecoding = jpegDecoding
        return configuration
    }

    /// The folder of `key`.
    public func folder(for key: FeatureCacheKey) -> URL {
        directory.appendingPathComponent(key.hash, isDirectory: true)
    }

    /// Features of `split` (or of one shard of it) from the cache, computing what is missing.
    ///
    /// - Parameters:
    ///   - view: 0 for CLIP's plain preprocessing, `v ≥ 1` for augmented view `v`.
    ///   - shard: extract only this part into `shards/` (merge the parts with `merge(directory:)`).
    ///   - progress: called with (images done, images in the range) after every batch.
    /// - Returns: L2-normalised features of the split, or of the shard's range.
    /// - Throws: `FeatureCacheError` for bad settings or unwritable files, `CLIPEncoderError`
    ///   for an image that cannot be decoded (naming it) or a model failure,
    ///   `FeatureCacheError.stoppedAfterChunks` when `stopAfterComputedChunks` is reached.
    public func extract(
        split: DatasetSplit, model: any ImageFeatureEncoder, view: Int = 0, shard: FeatureShard? = nil,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> FeatureSet {
        guard chunkSize > 0, batchSize > 0, view >= 0 else {
            throw FeatureCacheError.invalidSettings(
                reason: "chunk size \(chunkSize), batch size \(batchSize) and view \(view) must be positive (view may be 0)")
        }
        let key = key(split: split, model: model, view: view)
        let folder = folder(for: key)
        // One process at a time per cache entry (per shard when sharded): a second process
        // waits here, then reuses what the first one wrote instead of computing it again.
        try Self.createFolder(folder)
        let lockName = shard.map { ".\($0.fileStem).lock" } ?? Self.extractionLockName
        let lock = try Self.lock(folder.appendingPathComponent(lockName)) { [warn] in
            warn("another process is extracting \(split.name) features into \(folder.path); waiting for it")
        }
        defer { lock.release() }
        Self.removeStaleTemporaryFiles(in: folder)
        let total = split.items.count
        let target = ExtractionTarget(
            key: key, folder: folder, shard: shard, range: shard?.range(totalCount: total) ?? 0..<total, total: total,
            dimension: model.embeddingSize)
        var statistics = ExtractionStatistics()
        if let cached = try cachedFeatures(split: split, target: target, statistics: &statistics) {
            progress?(target.range.count, target.range.count)
            return cached
        }
        let (features, labels) = try computeChunks(
            split: split, model: model, view: view, target: target, statistics: &statistics, progress: progress)
        return try assemble(features: features, labels: labels, target: target, statistics: statistics)
    }

    /// Where one `extract` call reads and writes: the cache entry, the shard (if any) and the
    /// range of the split it covers.
    private struct ExtractionTarget {
        let key: FeatureCacheKey
        let folder: URL
        let shard: FeatureShard?
        let range: Range<Int>
        let total: Int
        let dimension: Int

        var finalFile: URL { folder.appendingPathComponent(FeatureCache.featuresFileName) }
        var finalHeader: FeatureFile.Header {
            FeatureFile.Header(kind: .final, keyHash: key.hash, firstIndex: 0, count: total, totalCount: total, dimension: dimension)
        }
    }

    /// Steps 1 and 2 of `extract`: a complete final file answers every request (chunks beside it
    /// are those of a process killed between writing the final file and removing them: dropped,
    /// the lock being ours; in a read-only cache they simply stay); else the shard's own file, or
    /// a complete set of shards for the whole split, merged. Nil when the features must be computed.
    private func cachedFeatures(
        split: DatasetSplit, target: ExtractionTarget, statistics: inout ExtractionStatistics
    ) throws -> FeatureSet? {
        let (key, range) = (target.key, target.range)
        if let contents = try readIfUsable(target.finalFile, expected: target.finalHeader, labels: split.labels, statistics: &statistics) {
            try? FileManager.default.removeItem(at: target.folder.appendingPathComponent("chunks", isDirectory: true))
            return featureSet(contents, range: range, key: key, file: target.finalFile, cached: true, statistics: statistics)
        }
        if let shard = target.shard {
            let shardFile = Self.shardFile(folder: target.folder, shard: shard)
            let header = shardHeader(key: key, shard: shard, range: range, total: target.total, dimension: target.dimension)
            if let contents = try readIfUsable(shardFile, expected: header, labels: Array(split.labels[range]), statistics: &statistics) {
                return featureSet(contents, range: range, key: key, file: shardFile, cached: true, statistics: statistics)
            }
        } else if let merged = try? mergeCompleteShards(folder: target.folder, statistics: &statistics), merged,
                  let contents = try readIfUsable(
                      target.finalFile, expected: target.finalHeader, labels: split.labels, statistics: &statistics) {
            statistics.mergedShards = true
            return featureSet(contents, range: range, key: key, file: target.finalFile, cached: true, statistics: statistics)
        }
        return nil
    }

    /// Step 3 of `extract`: the target's range chunk by chunk, each chunk read back when a usable
    /// file of it exists, else encoded and written.
    ///
    /// - Returns: features `[range.count × dimension]` and labels `[range.count]`.
    private func computeChunks(
        split: DatasetSplit, model: any ImageFeatureEncoder, view: Int, target: ExtractionTarget,
        statistics: inout ExtractionStatistics, progress: ((_ done: Int, _ total: Int) -> Void)?
    ) throws -> (features: [Float], labels: [Int]) {
        let (key, folder, range) = (target.key, target.folder, target.range)
        let preprocessor = try BatchPreprocessor(
            model: model, configuration: preprocessing(for: model), view: view, augmentationSeed: augmentationSeed,
            loader: loader)
        try Self.createFolder(folder)
        if (try? FeatureCacheManifest.read(folder: folder))?.status != "complete" {
            try FeatureCacheManifest(key: key, complete: false, dimension: target.dimension, toolVersion: toolVersion).write(folder: folder)
        }
        let chunksFolder = chunksFolder(of: target)
        try Self.createFolder(chunksFolder)
        Self.removeStaleTemporaryFiles(in: chunksFolder)

        var features: [Float] = []
        features.reserveCapacity(range.count * target.dimension)
        var labels: [Int] = []
        labels.reserveCapacity(range.count)
        let chunkCount = (range.count + chunkSize - 1) / chunkSize
        for chunk in 0..<chunkCount {
            let start = range.lowerBound + chunk * chunkSize
            let chunkRange = start..<min(start + chunkSize, range.upperBound)
            let chunkLabels = Array(split.labels[chunkRange])
            let chunkFile = chunksFolder.appendingPathComponent(String(format: "chunk-%06d.safetensors", chunk))
            let header = FeatureFile.Header(
                kind: .chunk, keyHash: key.hash, firstIndex: chunkRange.lowerBound, count: chunkRange.count,
                totalCount: target.total, dimension: target.dimension)
            if let contents = try readIfUsable(chunkFile, expected: header, labels: chunkLabels, statistics: &statistics) {
                features.append(contentsOf: contents.features)
                labels.append(contentsOf: contents.labels)
                statistics.reusedChunks.append(chunk)
                progress?(chunkRange.upperBound - range.lowerBound, range.count)
                continue
            }
            if let limit = stopAfterComputedChunks, statistics.computedChunks.count >= limit {
                throw FeatureCacheError.stoppedAfterChunks(count: statistics.computedChunks.count)
            }
            let chunkFeatures = try encode(
                split.items[chunkRange], firstIndex: chunkRange.lowerBound, model: model, preprocessor: preprocessor,
                statistics: &statistics
            ) { done in progress?(chunkRange.lowerBound - range.lowerBound + done, range.count) }
            try FeatureFile.write(
                features: chunkFeatures, labels: chunkLabels,
                metadata: FeatureFile.metadata(header: header, key: key, toolVersion: toolVersion), header: header, to: chunkFile)
            features.append(contentsOf: chunkFeatures)
            labels.append(contentsOf: chunkLabels)
            statistics.computedChunks.append(chunk)
        }
        return (features, labels)
    }

    /// The folder of the target's chunks: `chunks/`, or `shards/<shard>.chunks/` for a shard.
    private func chunksFolder(of target: ExtractionTarget) -> URL {
        target.shard.map { Self.shardsFolder(target.folder).appendingPathComponent($0.fileStem + ".chunks", isDirectory: true) }
            ?? target.folder.appendingPathComponent("chunks", isDirectory: true)
    }

    /// Step 4 of `extract`: the final (or shard) file from the computed range, the manifest marked
    /// complete with its checksum (whole split only), then the chunks dropped.
    private func assemble(
        features: [Float], labels: [Int], target: ExtractionTarget, statistics: ExtractionStatistics
    ) throws -> FeatureSet {
        let key = target.key
        let outputFile: URL
        let outputHeader: FeatureFile.Header
        if let shard = target.shard {
            try Self.createFolder(Self.shardsFolder(target.folder))
            outputFile = Self.shardFile(folder: target.folder, shard: shard)
            outputHeader = shardHeader(key: key, shard: shard, range: target.range, total: target.total, dimension: target.dimension)
        } else {
            outputFile = target.finalFile
            outputHeader = target.finalHeader
        }
        try FeatureFile.write(
            features: features, labels: labels,
            metadata: FeatureFile.metadata(header: outputHeader, key: key, toolVersion: toolVersion), header: outputHeader,
            to: outputFile)
        if target.shard == nil {
            var manifest = FeatureCacheManifest(key: key, complete: true, dimension: target.dimension, toolVersion: toolVersion)
            manifest.featuresChecksum = FeatureFile.checksum(features: features, labels: labels.map(Float.init))
            try manifest.write(folder: target.folder)
        }
        try Self.remove(chunksFolder(of: target))
        Self.removeStaleTemporaryFiles(in: outputFile.deletingLastPathComponent())
        let contents = FeatureFile.Contents(header: outputHeader, metadata: [:], features: features, labels: labels)
        return featureSet(contents, range: target.range, key: key, file: outputFile, cached: false, statistics: statistics)
    }

    /// Convenience: `FeatureCache(directory: cacheDirectory)` with `batchSize`, then `extract`.
    public static func extract(
        split: DatasetSplit, model: any ImageFeatureEncoder, cacheDirectory: URL, view: Int = 0, batchSize: Int = 64,
        shard: FeatureShard? = nil, progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> FeatureSet {
        var cache = FeatureCache(directory: cacheDirectory)
        cache.batchSize = batchSize
        return try cache.extract(split: split, model: model, view: view, shard: shard, progress: progress)
    }

    // MARK: Encoding

    /// L2-normalised features `[items.count, dim]` of `items`, batch by batch: each batch is
    /// preprocessed on several threads while the model encodes the previous one, so at most
    /// two batches of pixels are held at once.
    private func encode(
        _ items: ArraySlice<LabeledImage>, firstIndex: Int, model: any ImageFeatureEncoder, preprocessor: BatchPreprocessor,
        statistics: inout ExtractionStatistics, progress: (Int) -> Void
    ) throws -> [Float] {
        var features: [Float] = []
        features.reserveCapacity(items.count * model.embeddingSize)
        let batchStarts = Array(stride(from: 0, to: items.count, by: batchSize))
        func job(_ batch: Int) -> PreprocessingJob {
            let start = batchStarts[batch], end = min(start + batchSize, items.count)
            return PreprocessingJob(
                preprocessor: preprocessor, items: items[(items.startIndex + start)..<(items.startIndex + end)],
                firstIndex: firstIndex + start)
        }
        let clock = ContinuousClock()
        var pending = batchStarts.isEmpty ? nil : job(0)
        for batch in batchStarts.indices {
            guard let current = pending else { break }
            let waitStart = clock.now
            let pixels = try current.result()
            let encodingStart = clock.now
            pending = batch + 1 < batchStarts.count ? job(batch + 1) : nil
            let embeddings = try model.encodeImages(pixels: pixels, normalize: true)
            statistics.preprocessingSeconds += Self.seconds(encodingStart - waitStart)
            statistics.encodingSeconds += Self.seconds(clock.now - encodingStart)
            guard embeddings.count == current.count * model.embeddingSize else {
                pending?.wait()
                throw FeatureCacheError.invalidSettings(
                    reason: "the model returned \(embeddings.count) values for \(current.count) images of width \(model.embeddingSize)")
            }
            features.append(contentsOf: embeddings)
            statistics.encodedImages += current.count
            progress(batchStarts[batch] + current.count)
        }
        return features
    }

    private static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }

    // MARK: Files

    /// The rows of `url` when it exists and matches `expected` and `labels`; an unusable file
    /// is removed (and noted) so that it is computed again.
    private func readIfUsable(
        _ url: URL, expected: FeatureFile.Header, labels: [Int], statistics: inout ExtractionStatistics
    ) throws -> FeatureFile.Contents? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            let contents = try FeatureFile.read(url, expected: expected)
            if contents.labels == labels { return contents }
            warn("\(url.path): its labels differ from the split's; extracting it again")
        } catch {
            warn("\(ReadableError.describe(error)); extracting it again")
        }
        statistics.discardedFiles.append(url.lastPathComponent)
        try Self.remove(url)
        return nil
    }

    private func featureSet(
        _ contents: FeatureFile.Contents, range: Range<Int>, key: FeatureCacheKey, file: URL, cached: Bool,
        statistics: ExtractionStatistics
    ) -> FeatureSet {
        let dimension = contents.header.dimension
        let offset = range.lowerBound - contents.header.firstIndex
        let features = offset == 0 && range.count == contents.header.count
            ? contents.features
            : Array(contents.features[(offset * dimension)..<((offset + range.count) * dimension)])
        let labels = offset == 0 && range.count == contents.header.count
            ? contents.labels : Array(contents.labels[offset..<(offset + range.count)])
        return FeatureSet(
            features: features, labels: labels, count: range.count, dimension: dimension, firstIndex: range.lowerBound,
            key: key, file: file, wasCached: cached, statistics: statistics)
    }

    func shardHeader(key: FeatureCacheKey, shard: FeatureShard, range: Range<Int>, total: Int, dimension: Int) -> FeatureFile.Header {
        FeatureFile.Header(
            kind: .shard, keyHash: key.hash, firstIndex: range.lowerBound, count: range.count, totalCount: total,
            dimension: dimension, shardIndex: shard.index, shardCount: shard.count)
    }

    static func shardsFolder(_ folder: URL) -> URL { folder.appendingPathComponent("shards", isDirectory: true) }

    static func shardFile(folder: URL, shard: FeatureShard) -> URL {
        shardsFolder(folder).appendingPathComponent(shard.fileStem + ".safetensors")
    }

    /// Removes temporary files (`.<name>.<pid>.<random>.tmp`) that a killed writer left in
    /// `folder`: those older than an hour, and those older than ten minutes whose writer (the
    /// PID in the name) is no longer running on this machine. Younger ones may belong to a run
    /// still writing (on this machine or, on a shared file system, on another).
    static func removeStaleTemporaryFiles(in folder: URL) {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: folder.path) else { return }
        let now = Date()
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            let url = folder.appendingPathComponent(name)
            guard let modified = (try? manager.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date else { continue }
            let parts = name.split(separator: ".")
            let writer = parts.count >= 4 ? Int32(parts[parts.count - 3]) : nil
            let age = now.timeIntervalSince(modified)
            if age > 3600 || (age > 600 && !(writer.map(processIsAlive) ?? true)) {
                try? manager.removeItem(at: url)
            }
        }
    }

    static func createFolder(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw FeatureCacheError.fileOperationFailed(path: url.path, operation: "create folder", reason: ReadableError.reason(error))
        }
    }

    static func remove(_ url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        do {
            try FileManager.default.removeItem(at: url)
        } catch {
            throw FeatureCacheError.fileOperationFailed(path: url.path, operation: "remove", reason: ReadableError.reason(error))
        }
    }
}
