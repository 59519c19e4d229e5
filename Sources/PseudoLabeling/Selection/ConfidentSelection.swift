/// The confident samples: for each class, the images pseudo-labelled with it that have the
/// highest confidence. Entries are ordered by class, then by confidence (highest first), then by
/// image index (lowest first), which is also how ties are broken at the cut-off.
public struct ConfidentSelection: Sendable, Equatable {
    /// Image indices into the feature matrix the predictions came from.
    public let indices: [Int]
    /// Pseudo-label of each selected image.
    public let pseudoLabels: [Int]
    /// Confidence of each selected image.
    public let confidences: [Float]
    /// Number of selected images per class, `[classes]` (a class with fewer candidates keeps fewer).
    public let perClassCounts: [Int]

    /// Number of selected images.
    public var count: Int { indices.count }

    /// Wraps a selection made elsewhere (e.g. read back from a run directory).
    /// - Throws: `SelectorError.shapeMismatch` when the per-image arrays differ in length or the
    ///   per-class counts do not add up to it.
    public init(indices: [Int], pseudoLabels: [Int], confidences: [Float], perClassCounts: [Int]) throws {
        guard pseudoLabels.count == indices.count, confidences.count == indices.count else {
            throw SelectorError.shapeMismatch(
                input: "selection", expected: "\(indices.count) pseudo-labels and confidences",
                actual: "\(pseudoLabels.count) and \(confidences.count)")
        }
        guard perClassCounts.reduce(0, +) == indices.count else {
            throw SelectorError.shapeMismatch(
                input: "perClassCounts", expected: "a sum of \(indices.count)", actual: "\(perClassCounts.reduce(0, +))")
        }
        self.indices = indices
        self.pseudoLabels = pseudoLabels
        self.confidences = confidences
        self.perClassCounts = perClassCounts
    }

    /// Fraction of selected images whose pseudo-label equals their true label: the pseudo-label
    /// precision, for reports only.
    /// - Parameter trueLabels: labels of all images the predictions came from.
    public func precision(trueLabels: [Int]) throws -> Double {
        guard let bad = indices.first(where: { $0 >= trueLabels.count }) else {
            guard !indices.isEmpty else { return 0 }
            return Double(zip(indices, pseudoLabels).filter { trueLabels[$0] == $1 }.count) / Double(indices.count)
        }
        throw SelectorError.shapeMismatch(input: "trueLabels", expected: "a label for image \(bad)", actual: "\(trueLabels.count) labels")
    }

    /// Balanced accuracy of the selected pseudo-labels (`ClassificationMetrics`): for each true
    /// class among the selected images, the share of them pseudo-labelled right; then the mean.
    /// Precision weighs classes by how many of their images were selected; this weighs them
    /// equally, so a tail class whose images are all misread shows. For reports only.
    /// - Parameter trueLabels: labels of all images the predictions came from.
    /// - Returns: 0…1; NaN when nothing is selected.
    /// - Throws: `SelectorError.shapeMismatch` when an index has no label.
    public func balancedAccuracy(trueLabels: [Int]) throws -> Double {
        if let bad = indices.first(where: { $0 >= trueLabels.count || $0 < 0 }) {
            throw SelectorError.shapeMismatch(input: "trueLabels", expected: "a label for image \(bad)", actual: "\(trueLabels.count) labels")
        }
        return try ClassificationMetrics.balancedAccuracy(trueLabels: indices.map { trueLabels[$0] }, predictedLabels: pseudoLabels)
    }
}

/// Chooses confident pseudo-labelled samples from zero-shot predictions.
public enum ConfidentSelector {
    /// The `perClass` most confident images of every class (the rule that says how many is
    /// `Adaptation.SelectionRule`; this is its mechanism).
    ///
    /// Each image has one pseudo-label, so it is chosen at most once. Among equal confidences the
    /// lower image index wins. Runs on the host in `O(images · log images)`.
    /// - Parameters:
    ///   - perClass: at most this many images per class (UPL's K).
    ///   - minimumConfidence: when set, images whose confidence is below it are never chosen.
    /// - Throws: `SelectorError.invalidArgument` for a negative `perClass` or a pseudo-label
    ///   outside `0 ..< classCount`.
    public static func select(
        _ predictions: ZeroShotPredictions, classCount: Int, perClass: Int, minimumConfidence: Float? = nil
    ) throws -> ConfidentSelection {
        guard perClass >= 0 else {
            throw SelectorError.invalidArgument(name: "topK", message: "\(perClass) must not be negative")
        }
        var candidates = [[Int]](repeating: [], count: classCount)
        for (image, label) in predictions.labels.enumerated() {
            guard label >= 0, label < classCount else {
                throw SelectorError.invalidArgument(name: "pseudo-label of image \(image)", message: "\(label) is outside 0..<\(classCount)")
            }
            let confidence = predictions.confidences[image]
            guard !confidence.isNaN else { continue }
            if let minimum = minimumConfidence, !(confidence >= minimum) { continue }
            candidates[label].append(image)
        }
        var indices = [Int](), labels = [Int](), confidences = [Float](), counts = [Int](repeating: 0, count: classCount)
        for classIndex in 0..<classCount {
            let ranked = candidates[classIndex].sorted { left, right in
                let a = predictions.confidences[left], b = predictions.confidences[right]
                return a != b ? a > b : left < right
            }
            for image in ranked.prefix(perClass) {
                indices.append(image)
                labels.append(classIndex)
                confidences.append(predictions.confidences[image])
            }
            counts[classIndex] = min(ranked.count, perClass)
        }
        return try ConfidentSelection(indices: indices, pseudoLabels: labels, confidences: confidences, perClassCounts: counts)
    }
}
