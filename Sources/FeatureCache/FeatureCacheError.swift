/// Errors of the feature cache, the image transforms and augmented views. Each case names the
/// file, item or transform at fault.
public enum FeatureCacheError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A transform name, parameter or value the transforms do not accept.
    case invalidTransform(transform: String, reason: String)
    /// An item whose pixels cannot be turned into an image.
    case invalidImage(item: String, reason: String)
    /// The model's input size and its preprocessing disagree, or the batch/chunk settings are unusable.
    case invalidSettings(reason: String)
    /// A shard request outside `0 ≤ index < count`.
    case invalidShard(index: Int, count: Int)
    /// A cache file that exists but cannot be used (wrong key, shape or metadata).
    case unusableCacheFile(path: String, reason: String)
    /// A set of shard files that cannot be merged (missing shard, different keys, gaps).
    case incompleteShards(folder: String, reason: String)
    /// A file or folder of the cache that cannot be written, read or removed.
    case fileOperationFailed(path: String, operation: String, reason: String)
    /// Extraction stopped on purpose after computing this many chunks (`FeatureCache.stopAfterComputedChunks`).
    case stoppedAfterChunks(count: Int)
    /// Features about to be cached hold NaN or an infinity (row `row` of the file): refused at write.
    case nonFiniteFeatures(path: String, row: Int)

    public var description: String {
        switch self {
        case .invalidTransform(let transform, let reason):
            return "image transform '\(transform)': \(reason)"
        case .invalidImage(let item, let reason):
            return "\(item): \(reason)"
        case .invalidSettings(let reason):
            return "feature extraction: \(reason)"
        case .invalidShard(let index, let count):
            return "shard \(index)/\(count) is invalid: need 0 ≤ index < count ≤ \(FeatureShard.maximumCount)"
        case .unusableCacheFile(let path, let reason):
            return "feature cache file \(path) cannot be used: \(reason)"
        case .incompleteShards(let folder, let reason):
            return "shards in \(folder) cannot be merged: \(reason)"
        case .fileOperationFailed(let path, let operation, let reason):
            return "cannot \(operation) \(path): \(reason)"
        case .stoppedAfterChunks(let count):
            return "feature extraction stopped after \(count) chunk(s) as asked; run it again to resume"
        case .nonFiniteFeatures(let path, let row):
            return "\(path): refusing to cache features with NaN or infinite values (row \(row)); the model's weights or the images are broken"
        }
    }
}
