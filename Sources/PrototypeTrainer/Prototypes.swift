import Compute

/// How prototypes are built from the selected samples.
public enum PrototypeKind: String, Sendable, CaseIterable, Codable {
    /// One prototype per class: the normalised mean of that class's selected features.
    case mean
    /// Tip-Adapter's cache: every selected feature is a key whose value is its one-hot label.
    case cache
}

/// The keys of the affinity head, sorted by class: class `c` owns keys
/// `classOffsets[c] ..< classOffsets[c + 1]`, and the one-hot value matrix `L` `[keys, classes]`
/// is implied by `keyClasses` (for `mean`, one key per class and `L` the identity).
public struct Prototypes: Sendable, Equatable {
    public let kind: PrototypeKind
    /// The keys `P`, `[keys, dim]`.
    public let keys: HostMatrix
    /// Class of every key, `[keys]`, non-decreasing.
    public let keyClasses: [Int]
    /// Number of classes of the classifier the keys vote for.
    public let classCount: Int

    /// Wraps keys already sorted by class.
    /// - Throws: `TrainerError` when the classes are out of range, unsorted, or do not match the key count.
    public init(kind: PrototypeKind, keys: HostMatrix, keyClasses: [Int], classCount: Int) throws {
        guard keyClasses.count == keys.rows else {
            throw TrainerError.shapeMismatch(input: "keyClasses", expected: "\(keys.rows) like the keys", actual: "\(keyClasses.count)")
        }
        try validateLabels(keyClasses, classCount: classCount, input: "keyClasses")
        guard zip(keyClasses, keyClasses.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw TrainerError.invalidArgument(name: "keyClasses", message: "keys must be sorted by class")
        }
        if kind == .mean, keyClasses != Array(0..<classCount) {
            throw TrainerError.invalidArgument(name: "keyClasses", message: "mean prototypes need exactly one key per class")
        }
        self.kind = kind
        self.keys = keys
        self.keyClasses = keyClasses
        self.classCount = classCount
    }

    /// Number of keys.
    public var keyCount: Int { keys.rows }
    /// Width of the keys.
    public var dimension: Int { keys.columns }

    /// `[classes + 1]`: where each class's keys start, then the key count.
    public var classOffsets: [Int] {
        var offsets = [Int](repeating: 0, count: classCount + 1)
        for keyClass in keyClasses { offsets[keyClass + 1] += 1 }
        for index in 0..<classCount { offsets[index + 1] += offsets[index] }
        return offsets
    }

    /// The same kind and classes with new key values (after training).
    func replacingKeys(_ values: [Float]) throws -> Prototypes {
        try Prototypes(kind: kind, keys: try HostMatrix(values: values, rows: keys.rows, columns: keys.columns), keyClasses: keyClasses, classCount: classCount)
    }

    /// Prototypes of `kind` from `features` `[samples, dim]` labelled `labels`: the one place
    /// that turns a labelled selection into keys (`mean` or `cache`).
    public static func build(kind: PrototypeKind, features: HostMatrix, labels: [Int], textClassifier: HostMatrix) throws -> Prototypes {
        switch kind {
        case .mean: return try mean(features: features, labels: labels, textClassifier: textClassifier)
        case .cache:
            try requireCompatible(features: features, labels: labels, textClassifier: textClassifier)
            return try cache(features: features, labels: labels, classCount: textClassifier.rows)
        }
    }

    /// `mean` prototypes: `P_c = normalise(mean of the features labelled c)`.
    ///
    /// A class with no labelled feature takes its text-classifier row as prototype, so that its
    /// prototype logit behaves like a zero-shot vote instead of vanishing (and training can still
    /// move it, since other classes' samples push it away).
    /// - Parameters:
    ///   - features: `[samples, dim]`, L2-normalised rows (e.g. the selected images' features).
    ///   - labels: `[samples]` pseudo-labels or true labels.
    ///   - textClassifier: `[classes, dim]`, the fallback rows.
    public static func mean(features: HostMatrix, labels: [Int], textClassifier: HostMatrix) throws -> Prototypes {
        let classCount = textClassifier.rows, width = features.columns
        try requireCompatible(features: features, labels: labels, textClassifier: textClassifier)
        var sums = [Double](repeating: 0, count: classCount * width), counts = [Int](repeating: 0, count: classCount)
        for (sample, label) in labels.enumerated() {
            counts[label] += 1
            for column in 0..<width { sums[label * width + column] += Double(features.values[sample * width + column]) }
        }
        var values = [Float](repeating: 0, count: classCount * width)
        for classIndex in 0..<classCount {
            let base = classIndex * width
            if counts[classIndex] == 0 {
                for column in 0..<width { values[base + column] = textClassifier.values[base + column] }
                continue
            }
            let norm = (0..<width).reduce(0.0) { $0 + sums[base + $1] * sums[base + $1] }.squareRoot()
            let inverse = norm > 0 ? 1 / norm : 0
            for column in 0..<width { values[base + column] = Float(sums[base + column] * inverse) }
        }
        return try Prototypes(
            kind: .mean, keys: try HostMatrix(values: values, rows: classCount, columns: width),
            keyClasses: Array(0..<classCount), classCount: classCount)
    }

    /// `cache` prototypes: every feature is a key, its label the one-hot value; keys are sorted by
    /// class, keeping the given order within a class.
    public static func cache(features: HostMatrix, labels: [Int], classCount: Int) throws -> Prototypes {
        guard labels.count == features.rows else {
            throw TrainerError.shapeMismatch(input: "labels", expected: "\(features.rows) like the features", actual: "\(labels.count)")
        }
        try validateLabels(labels, classCount: classCount, input: "labels")
        let order = labels.indices.sorted { labels[$0] != labels[$1] ? labels[$0] < labels[$1] : $0 < $1 }
        return try Prototypes(kind: .cache, keys: try features.rows(at: order), keyClasses: order.map { labels[$0] }, classCount: classCount)
    }

    static func requireCompatible(features: HostMatrix, labels: [Int], textClassifier: HostMatrix) throws {
        guard features.columns == textClassifier.columns else {
            throw TrainerError.shapeMismatch(
                input: "features", expected: "width \(textClassifier.columns) like the text classifier", actual: "width \(features.columns)")
        }
        guard labels.count == features.rows else {
            throw TrainerError.shapeMismatch(input: "labels", expected: "\(features.rows) like the features", actual: "\(labels.count)")
        }
        try validateLabels(labels, classCount: textClassifier.rows, input: "labels")
    }
}

/// Features of several augmented views of the same images.
public enum FeatureViews {
    /// `normalise(mean over views)` of every image, `[images, dim]`.
    ///
    /// - Parameter views: `[views, images, dim]` row-major (each view's features as extracted).
    /// - Throws: `TrainerError.shapeMismatch` when the count is not `views · images · dim`.
    public static func average(_ views: [Float], viewCount: Int, imageCount: Int, dimension: Int) throws -> HostMatrix {
        guard viewCount > 0, views.count == viewCount * imageCount * dimension else {
            throw TrainerError.shapeMismatch(
                input: "views", expected: "[\(viewCount) ≥ 1, \(imageCount), \(dimension)]", actual: "\(views.count) elements")
        }
        var values = [Float](repeating: 0, count: imageCount * dimension)
        var sum = [Double](repeating: 0, count: dimension)
        for image in 0..<imageCount {
            for column in 0..<dimension { sum[column] = 0 }
            for view in 0..<viewCount {
                let base = (view * imageCount + image) * dimension
                for column in 0..<dimension { sum[column] += Double(views[base + column]) }
            }
            let norm = sum.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let inverse = norm > 0 ? 1 / norm : 0
            for column in 0..<dimension { values[image * dimension + column] = Float(sum[column] * inverse) }
        }
        return try HostMatrix(values: values, rows: imageCount, columns: dimension)
    }
}
