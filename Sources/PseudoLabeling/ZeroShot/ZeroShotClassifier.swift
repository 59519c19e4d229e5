import Compute

/// Zero-shot predictions for a set of images: pseudo-label and confidence of each.
public struct ZeroShotPredictions: Sendable, Equatable {
    /// `argmax_c p[i, c]` for every image `i` (the lowest class on ties).
    public let labels: [Int]
    /// `max_c p[i, c]`, the softmax probability of the pseudo-label.
    public let confidences: [Float]

    public init(labels: [Int], confidences: [Float]) throws {
        guard labels.count == confidences.count else {
            throw SelectorError.shapeMismatch(input: "confidences", expected: "\(labels.count) like the labels", actual: "\(confidences.count)")
        }
        self.labels = labels
        self.confidences = confidences
    }

    /// Number of images.
    public var count: Int { labels.count }

    /// Fraction of images whose pseudo-label equals `trueLabels` (for reports only).
    /// - Throws: `SelectorError.shapeMismatch` when the counts differ.
    public func accuracy(against trueLabels: [Int]) throws -> Double {
        guard trueLabels.count == labels.count else {
            throw SelectorError.shapeMismatch(input: "trueLabels", expected: "\(labels.count) labels", actual: "\(trueLabels.count)")
        }
        guard !labels.isEmpty else { return 0 }
        return Double(zip(labels, trueLabels).filter { $0 == $1 }.count) / Double(labels.count)
    }
}

/// Zero-shot CLIP classification on a backend: `logits = scale · F · Wᵀ`, probabilities
/// `softmax(logits)`, pseudo-label `argmax`, confidence `max p`.
///
/// Features are processed in batches of `batchSize` rows through buffers allocated once, so
/// device memory stays `O(batchSize · (dim + classes) + classes · dim)` whatever the image count;
/// only the labels and confidences (two numbers per image) come back to the host.
public struct ZeroShotClassifier: Sendable {
    public let backend: any TrainingBackend
    public let classifier: TextClassifier
    /// Multiplies the cosine similarities (CLIP's learned temperature, customarily 100).
    public let logitScale: Float
    /// Rows of features per device batch.
    public let batchSize: Int

    /// - Throws: `SelectorError.invalidArgument` for a batch size below 1.
    public init(backend: any TrainingBackend, classifier: TextClassifier, logitScale: Float, batchSize: Int = 1024) throws {
        guard batchSize > 0 else { throw SelectorError.invalidArgument(name: "batchSize", message: "\(batchSize) must be at least 1") }
        self.backend = backend
        self.classifier = classifier
        self.logitScale = logitScale
        self.batchSize = batchSize
    }

    /// Pseudo-labels and confidences of host features `[images, dim]` (L2-normalised rows).
    /// - Throws: `SelectorError.shapeMismatch` for a width other than the classifier's, or a
    ///   `ComputeError` from the backend.
    public func predict(features: HostMatrix) throws -> ZeroShotPredictions {
        try requireWidth(features.columns)
        return try run(rows: features.rows) { batch, start, count in
            let slice = Array(features.values[(start * features.columns)..<((start + count) * features.columns)])
            try backend.write(slice, to: batch)
        }
    }

    /// Pseudo-labels and confidences of device features `[images, dim]` on this backend.
    public func predict(features: Tensor) throws -> ZeroShotPredictions {
        guard features.rank == 2 else {
            throw SelectorError.shapeMismatch(input: "features", expected: "[images, \(classifier.dimension)]", actual: "\(features.shape)")
        }
        try requireWidth(features.shape[1])
        return try run(rows: features.shape[0]) { batch, start, _ in
            try backend.copyRows(features, from: start, into: batch)
        }
    }

    /// The zero-shot logits `scale · F · Wᵀ` of host features, `[images, classes]`.
    public func logits(features: HostMatrix) throws -> HostMatrix {
        try requireWidth(features.columns)
        let classes = classifier.classCount, width = features.columns
        let weights = try backend.upload(classifier.weights.values, shape: [classes, width])
        let batchFeatures = try backend.makeTensor(shape: [min(batchSize, max(features.rows, 1)), width])
        let batchLogits = try backend.makeTensor(shape: [min(batchSize, max(features.rows, 1)), classes])
        var values = [Float]()
        values.reserveCapacity(features.rows * classes)
        for start in stride(from: 0, to: features.rows, by: batchSize) {
            let count = min(batchSize, features.rows - start)
            let input = try batchFeatures.prefix(shape: [count, width]), output = try batchLogits.prefix(shape: [count, classes])
            try backend.write(Array(features.values[(start * width)..<((start + count) * width)]), to: input)
            try backend.matmul(input, weights, into: output, options: MatmulOptions(transposeB: true, alpha: logitScale))
            values += try backend.read(output)
        }
        return try HostMatrix(values: values, rows: features.rows, columns: classes)
    }

    private func requireWidth(_ width: Int) throws {
        guard width == classifier.dimension else {
            throw SelectorError.shapeMismatch(
                input: "features", expected: "width \(classifier.dimension) like the text classifier", actual: "width \(width)")
        }
    }

    /// Runs the batches: `fill` puts rows `start ..< start + count` into the batch tensor.
    private func run(rows: Int, fill: (Tensor, Int, Int) throws -> Void) throws -> ZeroShotPredictions {
        let classes = classifier.classCount, width = classifier.dimension
        guard rows > 0 else { return try ZeroShotPredictions(labels: [], confidences: []) }
        let capacity = min(batchSize, rows)
        let weights = try backend.upload(classifier.weights.values, shape: [classes, width])
        let batchFeatures = try backend.makeTensor(shape: [capacity, width])
        let batchLogits = try backend.makeTensor(shape: [capacity, classes])
        let batchLabels = try backend.makeTensor(shape: [capacity]), batchConfidences = try backend.makeTensor(shape: [capacity])
        var labels = [Int](), confidences = [Float]()
        labels.reserveCapacity(rows)
        confidences.reserveCapacity(rows)
        for start in stride(from: 0, to: rows, by: capacity) {
            let count = min(capacity, rows - start)
            let input = try batchFeatures.prefix(shape: [count, width]), logits = try batchLogits.prefix(shape: [count, classes])
            let labelView = try batchLabels.prefix(shape: [count]), confidenceView = try batchConfidences.prefix(shape: [count])
            try fill(input, start, count)
            try backend.matmul(input, weights, into: logits, options: MatmulOptions(transposeB: true, alpha: logitScale))
            try backend.rowMaximum(logits, indices: labelView, maxima: confidenceView, asProbability: true)
            labels += try backend.read(labelView).map { Int($0) }
            confidences += try backend.read(confidenceView)
        }
        return try ZeroShotPredictions(labels: labels, confidences: confidences)
    }
}
