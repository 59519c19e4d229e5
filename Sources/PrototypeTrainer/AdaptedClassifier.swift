import Compute

/// The residual weights of the affinity head: `logits = logits0 + α · exp(−β (1 − F·Pᵀ)) · L`.
public struct HeadParameters: Sendable, Equatable, Codable {
    /// Weight of the prototype logits next to the zero-shot logits.
    public var alpha: Float
    /// Sharpness of the affinity: larger β lets only the nearest keys vote.
    public var beta: Float

    public init(alpha: Float, beta: Float) {
        self.alpha = alpha
        self.beta = beta
    }
}

/// A CLIP classifier adapted with prototypes: zero-shot logits plus the affinity head's logits.
/// The same model serves UPAdapter (mean prototypes trained on pseudo-labels), training-free
/// Tip-Adapter (a cache, untrained) and Tip-Adapter-F (a cache trained on labelled shots).
public struct AdaptedClassifier: Sendable {
    /// The zero-shot text classifier `W`, `[classes, dim]`.
    public let textClassifier: HostMatrix
    public let prototypes: Prototypes
    public var head: HeadParameters
    /// Multiplies `F · Wᵀ` (CLIP's temperature; the configuration's `adapter.logit_scale` or the checkpoint's).
    public var logitScale: Float

    /// - Throws: `TrainerError.shapeMismatch` when the prototypes do not match the text classifier.
    public init(textClassifier: HostMatrix, prototypes: Prototypes, head: HeadParameters, logitScale: Float) throws {
        guard prototypes.dimension == textClassifier.columns, prototypes.classCount == textClassifier.rows else {
            throw TrainerError.shapeMismatch(
                input: "prototypes", expected: "\(textClassifier.rows) classes of width \(textClassifier.columns) like the text classifier",
                actual: "\(prototypes.classCount) classes of width \(prototypes.dimension)")
        }
        self.textClassifier = textClassifier
        self.prototypes = prototypes
        self.head = head
        self.logitScale = logitScale
    }

    /// The fused logits of `features` `[images, dim]`, `[images, classes]`, computed on `backend`
    /// in batches of `batchSize` rows.
    public func logits(features: HostMatrix, backend: any TrainingBackend, batchSize: Int = 1024) throws -> HostMatrix {
        guard features.columns == textClassifier.columns else {
            throw TrainerError.shapeMismatch(input: "features", expected: "width \(textClassifier.columns)", actual: "width \(features.columns)")
        }
        guard batchSize > 0 else { throw TrainerError.invalidArgument(name: "batchSize", message: "\(batchSize) must be at least 1") }
        let classes = textClassifier.rows, width = features.columns
        guard features.rows > 0 else { return try HostMatrix(values: [], rows: 0, columns: classes) }
        let device = try DeviceHead(backend: backend, classifier: self, capacity: min(batchSize, features.rows))
        var values = [Float]()
        values.reserveCapacity(features.rows * classes)
        for start in stride(from: 0, to: features.rows, by: device.capacity) {
            let count = min(device.capacity, features.rows - start)
            let batch = try device.batch(count)
            try backend.write(Array(features.values[(start * width)..<((start + count) * width)]), to: batch.features)
            try device.forward(batch)
            values += try backend.read(batch.logits)
        }
        return try HostMatrix(values: values, rows: features.rows, columns: classes)
    }

    /// The predicted class of every image (`argmax` of the fused logits, lowest class on ties).
    public func predict(features: HostMatrix, backend: any TrainingBackend, batchSize: Int = 1024) throws -> [Int] {
        let logits = try logits(features: features, backend: backend, batchSize: batchSize)
        return (0..<logits.rows).map { row in
            var best = 0
            for column in 1..<max(logits.columns, 1) where logits.values[row * logits.columns + column] > logits.values[row * logits.columns + best] {
                best = column
            }
            return best
        }
    }

    /// Top-1 accuracy of the predictions against `labels` (true labels for evaluation, or
    /// pseudo-labels for the label-free search).
    public func accuracy(features: HostMatrix, labels: [Int], backend: any TrainingBackend, batchSize: Int = 1024) throws -> Double {
        guard labels.count == features.rows else {
            throw TrainerError.shapeMismatch(input: "labels", expected: "\(features.rows) like the features", actual: "\(labels.count)")
        }
        guard !labels.isEmpty else { return 0 }
        let predictions = try predict(features: features, backend: backend, batchSize: batchSize)
        return Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(labels.count)
    }
}
