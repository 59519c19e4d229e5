import Compute
import Foundation
import Support

/// How many images of each class a split keeps (`dataset.class_profile`): a seeded subsample
/// that turns a balanced dataset into a long-tailed (or otherwise imbalanced) one. The unlabeled
/// pool and the test split are drawn with the same profile: the same class is largest in both,
/// and every class keeps the same share of its split.
///
/// Per split, class `c` keeps `n_c = round(n_max · r_c)` images, where `r_c ∈ (0, 1]` is the
/// class's relative size (1 for the largest class) and `n_max` is `largest` when set, else the
/// largest value every class of the split can hold: `floor(min_c(available_c / r_c))`.
/// - `long_tail`: `r_c = imbalance^(−rank_c / (C − 1))`, an exponential profile from 1 down to
///   `1 / imbalance`; `rank_c` is the class's place in `order` (`shuffled`: a permutation drawn
///   from `seed`; `label`: class 0 largest, then 1, …).
/// - `shares`: `r_c = shares_c / max(shares)`.
/// - `counts`: `n_c = counts_c` in every split, exactly.
///
/// Which images a class keeps is a seeded Fisher–Yates draw from its images (by `seed`, the
/// split's name and the label); the kept items stay in the split's order.
public struct ClassProfile: Sendable, Equatable, CustomStringConvertible {
    /// The shape of the profile.
    public enum Kind: String, Sendable, CaseIterable {
        /// Exponential decay from the largest class to the smallest, `imbalance` : 1.
        case longTail = "long_tail"
        /// Relative sizes given per class.
        case shares
        /// Image counts given per class.
        case counts
    }

    /// Which class is largest in a `long_tail` profile.
    public enum Order: String, Sendable, CaseIterable {
        /// A permutation of the labels drawn from `seed`.
        case shuffled
        /// By label: class 0 largest, the last class smallest.
        case label
    }

    public var kind: Kind
    /// `long_tail`: images of the largest class over images of the smallest (≥ 1).
    public var imbalance: Double?
    /// `long_tail`: which class is largest.
    public var order: Order
    /// `shares`: one positive relative size per class, by label.
    public var shares: [Double]?
    /// `counts`: images kept per class, by label, in every split.
    public var counts: [Int]?
    /// `long_tail` and `shares`: images of the largest class in every split; nil for as many as
    /// every class of the split allows.
    public var largest: Int?
    /// Seed of the shuffled order and of which images are kept.
    public var seed: Int

    public init(kind: Kind, imbalance: Double? = nil, order: Order = .shuffled, shares: [Double]? = nil,
                counts: [Int]? = nil, largest: Int? = nil, seed: Int = 1) {
        self.kind = kind
        self.imbalance = imbalance
        self.order = order
        self.shares = shares
        self.counts = counts
        self.largest = largest
        self.seed = seed
    }

    /// A canonical text for reports, e.g. `long_tail(imbalance=10, order=shuffled, seed=1)`.
    public var description: String {
        var parts: [String] = []
        switch kind {
        case .longTail:
            parts += ["imbalance=\(formatNumber(imbalance ?? 1))", "order=\(order.rawValue)"]
        case .shares:
            parts.append("shares=[\((shares ?? []).map(formatNumber).joined(separator: ","))]")
        case .counts:
            parts.append("counts=[\((counts ?? []).map(String.init).joined(separator: ","))]")
        }
        if let largest, kind != .counts { parts.append("largest=\(largest)") }
        parts.append("seed=\(seed)")
        return "\(kind.rawValue)(\(parts.joined(separator: ", ")))"
    }

    // MARK: Sizes

    /// The order of the labels from largest to smallest class, `[classes]` (long_tail).
    public func classOrder(classCount: Int) -> [Int] {
        var labels = Array(0..<classCount)
        guard order == .shuffled, classCount > 1 else { return labels }
        var generator = SeededGenerator(seed: UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 &+ 0x6C6F_6E67)
        for index in stride(from: classCount - 1, to: 0, by: -1) {
            labels.swapAt(index, Int(generator.next() % UInt64(index + 1)))
        }
        return labels
    }

    /// Each class's size relative to the largest, `[classes]`, in (0, 1] (`long_tail`, `shares`).
    /// - Throws: `ExperimentsError.invalidValue` naming `dataset.class_profile.shares` when the
    ///   list does not have one entry per class.
    public func relativeSizes(classCount: Int) throws -> [Double] {
        switch kind {
        case .longTail:
            let ratio = max(imbalance ?? 1, 1)
            var sizes = [Double](repeating: 1, count: classCount)
            guard classCount > 1 else { return sizes }
            for (rank, label) in classOrder(classCount: classCount).enumerated() {
                sizes[label] = pow(ratio, -Double(rank) / Double(classCount - 1))
            }
            return sizes
        case .shares:
            let values = shares ?? []
            guard values.count == classCount else {
                throw Self.invalid("shares", "[\(values.map(formatNumber).joined(separator: ", "))]",
                                   "has \(values.count) entries, the dataset has \(classCount) classes")
            }
            let maximum = values.max() ?? 1
            return values.map { $0 / maximum }
        case .counts:
            let values = counts ?? []
            let maximum = Double(values.max() ?? 1)
            return values.map { maximum > 0 ? Double($0) / maximum : 0 }
        }
    }

    /// Images kept per class, `[classes]`, in a split holding `available` images per class.
    /// - Parameters:
    ///   - available: images of each class in the split, `[classes]`.
    ///   - classNames: the split's class names by label (named in errors).
    ///   - split: the split's name (named in errors).
    /// - Throws: `ExperimentsError.classProfileExceedsClass` naming the class when the profile
    ///   asks for more images than the class has; `invalidValue` naming the key when `counts` or
    ///   `shares` has the wrong length.
    public func keptCounts(available: [Int], classNames: [String], split: String) throws -> [Int] {
        let classCount = available.count
        let wanted: [Int]
        if kind == .counts {
            let values = counts ?? []
            guard values.count == classCount else {
                throw Self.invalid("counts", "[\(values.map(String.init).joined(separator: ", "))]",
                                   "has \(values.count) entries, the dataset has \(classCount) classes")
            }
            wanted = values
        } else {
            let sizes = try relativeSizes(classCount: classCount)
            let largestKept = largest ?? zip(available, sizes).map { count, size in Int((Double(count) / size).rounded(.down)) }.min() ?? 0
            wanted = sizes.map { Int((Double(largestKept) * $0).rounded()) }
        }
        for (label, (count, have)) in zip(wanted, available).enumerated() where count > have {
            throw ExperimentsError.classProfileExceedsClass(
                split: split, className: label < classNames.count ? classNames[label] : "label \(label)", label: label,
                requested: count, available: have, profile: description)
        }
        return wanted
    }

    /// The positions of the items a split keeps, ascending.
    /// - Parameters:
    ///   - labels: the split's labels in item order, `[items]`, each in `0..<classNames.count`.
    ///   - classNames: the split's class names by label.
    ///   - split: the split's name; it takes part in the draw, so two splits draw independently.
    /// - Throws: as `keptCounts`.
    public func keptPositions(labels: [Int], classNames: [String], split: String) throws -> [Int] {
        var positionsByClass = [[Int]](repeating: [], count: classNames.count)
        for (position, label) in labels.enumerated() where label >= 0 && label < classNames.count {
            positionsByClass[label].append(position)
        }
        let kept = try keptCounts(available: positionsByClass.map(\.count), classNames: classNames, split: split)
        var result: [Int] = []
        for (label, positions) in positionsByClass.enumerated() {
            var generator = SeededGenerator(seed: drawSeed(split: split, label: label))
            var shuffled = positions
            for index in stride(from: shuffled.count - 1, to: 0, by: -1) {
                shuffled.swapAt(index, Int(generator.next() % UInt64(index + 1)))
            }
            result += shuffled.prefix(kept[label])
        }
        return result.sorted()
    }

    /// The seed of one class's draw in one split: the profile's seed, an FNV-1a hash of the
    /// split's name (stable across processes, unlike `hashValue`) and the label.
    private func drawSeed(split: String, label: Int) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in split.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        return hash ^ (UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(label) &* 0xD6E8_FEB8_6659_FD93)
    }

    private static func invalid(_ key: String, _ value: String, _ reason: String) -> ExperimentsError {
        .invalidValue(keyPath: "dataset.class_profile.\(key)", file: "the configuration", value: value, reason: reason)
    }
}

extension DatasetSplit {
    /// The items `profile` keeps, with their positions in this split (ascending), so features
    /// extracted for the whole split can be subsampled the same way.
    /// - Throws: as `ClassProfile.keptPositions`.
    public func applying(_ profile: ClassProfile) throws -> (split: DatasetSplit, positions: [Int]) {
        let positions = try profile.keptPositions(labels: labels, classNames: classNames, split: name)
        var copy = self
        copy.items = positions.map { items[$0] }
        return (copy, positions)
    }
}
