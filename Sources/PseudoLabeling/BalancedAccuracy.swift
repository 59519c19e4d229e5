/// Balanced accuracy: the mean over classes of each class's accuracy (its recall, the share of
/// its images predicted as it), counting only the classes present in the true labels.
///
/// On a long-tailed test set top-1 is dominated by the head classes; balanced accuracy weighs
/// every class equally, so a method that sacrifices the tail shows it. With equal class sizes the
/// two agree. It is scikit-learn's `balanced_accuracy_score` (with `adjusted=False`).
///
/// Every balanced accuracy of the project (test results, pseudo-label quality, sweep tables) is
/// computed by `balancedAccuracy(perClassAccuracy:)`, directly or through
/// `balancedAccuracy(trueLabels:predictedLabels:)`.
public enum ClassificationMetrics {
    /// The mean of the defined entries of `perClassAccuracy` `[classes]` (NaN marks a class
    /// without images, which is left out).
    /// - Returns: 0…1; NaN when no class is defined.
    public static func balancedAccuracy(perClassAccuracy: [Double]) -> Double {
        let defined = perClassAccuracy.filter { !$0.isNaN }
        guard !defined.isEmpty else { return .nan }
        return defined.reduce(0, +) / Double(defined.count)
    }

    /// Balanced accuracy of `predictedLabels` `[images]` against `trueLabels` `[images]`:
    /// for every class that occurs in `trueLabels`, the share of its images whose prediction is
    /// that class; then the mean of those shares. Classes that are only predicted count as errors
    /// of the classes they were predicted for, never as classes of their own.
    /// - Returns: 0…1; NaN when `trueLabels` is empty.
    /// - Throws: `SelectorError.shapeMismatch` when the two lists differ in length,
    ///   `SelectorError.invalidArgument` for a negative true label.
    public static func balancedAccuracy(trueLabels: [Int], predictedLabels: [Int]) throws -> Double {
        guard trueLabels.count == predictedLabels.count else {
            throw SelectorError.shapeMismatch(
                input: "predictedLabels", expected: "\(trueLabels.count) labels like trueLabels", actual: "\(predictedLabels.count)")
        }
        if let position = trueLabels.firstIndex(where: { $0 < 0 }) {
            throw SelectorError.invalidArgument(name: "trueLabels[\(position)]", message: "\(trueLabels[position]) is negative")
        }
        let classCount = (trueLabels.max() ?? -1) + 1
        var images = [Int](repeating: 0, count: classCount), correct = [Int](repeating: 0, count: classCount)
        for (truth, prediction) in zip(trueLabels, predictedLabels) {
            images[truth] += 1
            if truth == prediction { correct[truth] += 1 }
        }
        let perClass = zip(correct, images).map { $1 > 0 ? Double($0) / Double($1) : .nan }
        return balancedAccuracy(perClassAccuracy: perClass)
    }
}
