import PseudoLabeling

/// Counts of (true class, predicted class) pairs, `[classes, classes]` with rows = true class and
/// columns = predicted class, and the accuracies read off it.
public struct ConfusionMatrix: Sendable, Equatable {
    /// `counts[trueClass][predictedClass]`.
    public let counts: [[Int]]

    /// Counts the pairs of `trueLabels` and `predictedLabels` (same length, labels in
    /// `0..<classCount`).
    /// - Throws: `ReportError.labelCountMismatch` when the lists differ in length,
    ///   `ReportError.labelOutOfRange` for a label outside `0..<classCount`.
    public init(trueLabels: [Int], predictedLabels: [Int], classCount: Int) throws {
        guard trueLabels.count == predictedLabels.count else {
            throw ReportError.labelCountMismatch(trueLabels: trueLabels.count, predictedLabels: predictedLabels.count)
        }
        var counts = [[Int]](repeating: [Int](repeating: 0, count: max(classCount, 0)), count: max(classCount, 0))
        for (position, (truth, prediction)) in zip(trueLabels, predictedLabels).enumerated() {
            guard (0..<classCount).contains(truth) else {
                throw ReportError.labelOutOfRange(list: "true", position: position, label: truth, classCount: classCount)
            }
            guard (0..<classCount).contains(prediction) else {
                throw ReportError.labelOutOfRange(list: "predicted", position: position, label: prediction, classCount: classCount)
            }
            counts[truth][prediction] += 1
        }
        self.counts = counts
        let total = self.total
        guard total == trueLabels.count else {
            throw ReportError.inconsistentReport(
                field: "confusionMatrix", reason: "counts add up to \(total), expected \(trueLabels.count)")
        }
    }

    /// Wraps existing counts.
    /// - Throws: `ReportError.inconsistentReport` unless `counts` is square with no negative count.
    public init(counts: [[Int]]) throws {
        for (row, line) in counts.enumerated() {
            guard line.count == counts.count else {
                throw ReportError.inconsistentReport(
                    field: "confusionMatrix[\(row)]", reason: "has \(line.count) columns, expected \(counts.count)")
            }
            if let negative = line.firstIndex(where: { $0 < 0 }) {
                throw ReportError.inconsistentReport(
                    field: "confusionMatrix[\(row)][\(negative)]", reason: "negative count \(line[negative])")
            }
        }
        self.counts = counts
    }

    /// Number of classes.
    public var classCount: Int { counts.count }

    /// Number of test images counted.
    public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }

    /// Number of images predicted as their true class (the diagonal).
    public var correct: Int { counts.indices.reduce(0) { $0 + counts[$1][$1] } }

    /// Images per true class (row sums).
    public var trueCounts: [Int] { counts.map { $0.reduce(0, +) } }

    /// Images per predicted class (column sums).
    public var predictedCounts: [Int] {
        (0..<classCount).map { column in counts.reduce(0) { $0 + $1[column] } }
    }

    /// Top-1 accuracy, 0…1; NaN when nothing was counted.
    public var accuracy: Double { ratio(correct, total) }

    /// Accuracy (recall) of each true class, 0…1; NaN for a class without images.
    public var perClassAccuracy: [Double] {
        counts.indices.map { ratio(counts[$0][$0], counts[$0].reduce(0, +)) }
    }

    /// Balanced accuracy, 0…1: the mean of `perClassAccuracy` over the classes with test images
    /// (`ClassificationMetrics.balancedAccuracy`); NaN when nothing was counted.
    public var balancedAccuracy: Double { ClassificationMetrics.balancedAccuracy(perClassAccuracy: perClassAccuracy) }

    /// Precision of each predicted class, 0…1; NaN for a class never predicted.
    public var perClassPrecision: [Double] {
        let predicted = predictedCounts
        return counts.indices.map { ratio(counts[$0][$0], predicted[$0]) }
    }

    /// The `limit` largest off-diagonal counts as (true class, predicted class, count), largest
    /// first (ties by true class, then predicted class).
    public func topConfusions(limit: Int) -> [(trueClass: Int, predictedClass: Int, count: Int)] {
        var pairs: [(trueClass: Int, predictedClass: Int, count: Int)] = []
        for (row, line) in counts.enumerated() {
            for (column, count) in line.enumerated() where row != column && count > 0 {
                pairs.append((row, column, count))
            }
        }
        pairs.sort { ($0.count, -$0.trueClass, -$0.predictedClass) > ($1.count, -$1.trueClass, -$1.predictedClass) }
        return Array(pairs.prefix(max(limit, 0)))
    }

    private func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator > 0 ? Double(numerator) / Double(denominator) : .nan
    }
}
