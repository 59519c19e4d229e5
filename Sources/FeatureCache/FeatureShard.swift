/// One of `count` contiguous parts of a split, for extracting a large split on several
/// machines or processes: shard `index` covers items `[index · n / count, (index + 1) · n / count)`.
public struct FeatureShard: Sendable, Equatable, CustomStringConvertible {
    /// Which part, `0 ..< count`.
    public let index: Int
    /// Number of parts.
    public let count: Int

    /// The most parts a split may be cut into (so that `range(totalCount:)` cannot overflow).
    public static let maximumCount = 1_000_000

    /// Shard `index` of `count`.
    /// - Throws: `FeatureCacheError.invalidShard` unless `0 ≤ index < count ≤ maximumCount`.
    public init(index: Int, count: Int) throws {
        guard count > 0, count <= Self.maximumCount, index >= 0, index < count else {
            throw FeatureCacheError.invalidShard(index: index, count: count)
        }
        self.index = index
        self.count = count
    }

    /// Parses `i/n` (as in `--shard 0/4`).
    /// - Throws: `FeatureCacheError.invalidShard` for text that is not two integers with `0 ≤ i < n`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw FeatureCacheError.invalidShard(index: -1, count: 0)
        }
        try self.init(index: index, count: count)
    }

    /// The items of a split of `totalCount` items this shard covers.
    public func range(totalCount: Int) -> Range<Int> {
        (index * totalCount / count)..<((index + 1) * totalCount / count)
    }

    /// `i/n`.
    public var description: String { "\(index)/\(count)" }

    /// `shard-i-of-n`, the stem of the shard's file names.
    var fileStem: String { "shard-\(index)-of-\(count)" }
}
