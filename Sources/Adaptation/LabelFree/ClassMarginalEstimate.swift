/// A method's view of the pool's class sizes, and whether zero-shot CLIP seems to misread the
/// collection: how far zero-shot's pseudo-labels of the pool agree with the labels the pool's
/// own structure supports (the method's), beyond the agreement chance gives (Cohen's κ).
public struct ClassMarginalEstimate: Sendable, Equatable {
    /// `[classes]` estimated shares, summing to 1.
    public let shares: [Double]
    /// Cohen's κ of zero-shot's and the method's labels of the pool.
    public let agreement: Double
    /// Set when `agreement` is below `ClassMarginalEstimate.misreadThreshold`.
    public let warning: String?
    /// What the method did with the agreement, when it changed the method's course (e.g. kept zero-shot).
    public var decision: String?

    /// κ below which the run warns that zero-shot CLIP misreads the collection. Chosen on the
    /// development and demo shifts (docs/method-study.md): κ is 0.66–0.98 where zero-shot reads
    /// the images, 0.19–0.40 where a shift makes it collapse onto a few classes that transport
    /// spreads again (pixelate, salt and pepper), and 0.07 and 0.17 on the two inverted shifts,
    /// where it is below chance. The margin to pixelate is small: a warning, not a verdict.
    public static let misreadThreshold = 0.18

    public init(shares: [Double], zeroShotLabels: [Int], adaptedLabels: [Int]) {
        self.shares = shares
        agreement = Self.kappa(zeroShotLabels, adaptedLabels, classes: shares.count)
        warning = agreement < Self.misreadThreshold
            ? String(format: "zero-shot CLIP's pseudo-labels of the pool barely agree with the classes the pool's own structure supports "
                     + "(Cohen's κ %.2f, below %.2f): the collection looks systematically misread (e.g. inverted or recoloured images). "
                     + "No label-free method can fix a systematic misreading; check the prompts, the class names or the images.",
                     agreement, Self.misreadThreshold)
            : nil
    }

    /// Cohen's κ of two labelings of the same images: `(observed − chance) / (1 − chance)`.
    static func kappa(_ first: [Int], _ second: [Int], classes: Int) -> Double {
        let count = min(first.count, second.count)
        guard count > 0, classes > 0 else { return 1 }
        var firstCounts = [Double](repeating: 0, count: classes), secondCounts = firstCounts
        var observed = 0.0
        for index in 0..<count {
            let a = first[index], b = second[index]
            guard a >= 0, a < classes, b >= 0, b < classes else { continue }
            firstCounts[a] += 1
            secondCounts[b] += 1
            if a == b { observed += 1 }
        }
        let total = Double(count)
        let chance = zip(firstCounts, secondCounts).reduce(0) { $0 + $1.0 * $1.1 } / (total * total)
        return chance < 1 ? (observed / total - chance) / (1 - chance) : 1
    }
}
