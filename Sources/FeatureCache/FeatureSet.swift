import Foundation

/// L2-normalised image features of (a range of) a dataset split, with their labels.
public struct FeatureSet: Sendable {
    /// `[count, dimension]` row-major; each row has unit L2 norm (or is zero).
    public var features: [Float]
    /// `[count]` labels, in item order.
    public var labels: [Int]
    /// Number of images (rows).
    public var count: Int
    /// Width of one feature.
    public var dimension: Int
    /// Index in the split of the first row (0 unless this is a shard).
    public var firstIndex: Int
    /// The cache key the features belong to.
    public var key: FeatureCacheKey
    /// The file that holds them (the final file, or the shard file).
    public var file: URL
    /// Whether they came from the cache without running the model.
    public var wasCached: Bool
    /// What this call did.
    public var statistics: ExtractionStatistics

    /// Row `row` of `features`.
    public func feature(_ row: Int) -> ArraySlice<Float> {
        features[(row * dimension)..<((row + 1) * dimension)]
    }
}

/// The work one `FeatureCache.extract` call did.
public struct ExtractionStatistics: Sendable, Equatable {
    /// Images preprocessed and encoded by the model in this call.
    public var encodedImages = 0
    /// Chunk numbers computed in this call (relative to the extracted range).
    public var computedChunks: [Int] = []
    /// Chunk numbers found complete on disk from an earlier, interrupted call.
    public var reusedChunks: [Int] = []
    /// Cache files found unreadable or inconsistent, removed and computed again.
    public var discardedFiles: [String] = []
    /// Whether the result was assembled from a complete set of shards.
    public var mergedShards = false
    /// Seconds spent waiting for decoded and preprocessed images (preprocessing of the next
    /// batch overlaps encoding, so this is the part encoding did not hide).
    public var preprocessingSeconds = 0.0
    /// Seconds spent in the model.
    public var encodingSeconds = 0.0

    public init() {}
}
