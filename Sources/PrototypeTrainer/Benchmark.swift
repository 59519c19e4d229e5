import Compute
import Foundation

extension PrototypeTrainer {
    /// Sizes of a synthetic training problem for timing.
    public struct BenchmarkCase: Sendable, Equatable {
        /// Training rows (selected images).
        public var rows: Int
        public var classes: Int
        public var dimension: Int
        public var batchSize: Int
        public var kind: PrototypeKind
        /// Epochs of each timed training run; the figure is the run's time divided by them, so
        /// that the once-per-run work (uploads, the zero-shot logits of every row) is shared as
        /// in a real run (20 epochs by default).
        public var epochs: Int

        public init(rows: Int, classes: Int, dimension: Int = 512, batchSize: Int = 256, kind: PrototypeKind = .mean, epochs: Int = 1) {
            self.rows = rows
            self.classes = classes
            self.dimension = dimension
            self.batchSize = batchSize
            self.kind = kind
            self.epochs = epochs
        }
    }

    /// Seconds one training epoch takes on this backend for random unit-norm features and
    /// classifier rows of the given sizes (α 1, β 5.5, shuffled batches): the median of `repeats`
    /// training runs of `sizes.epochs` epochs, each divided by its epochs, after one untimed
    /// warm-up run (which builds kernels and touches memory). Each timed run includes uploading
    /// the training rows and reading the losses back.
    public func benchmarkEpoch(_ sizes: BenchmarkCase, repeats: Int = 3, seed: UInt64 = 7) throws -> Double {
        var generator = SeededGenerator(seed: seed)
        func unitRows(_ rows: Int) throws -> HostMatrix {
            var values = generator.normal(count: rows * sizes.dimension)
            for row in 0..<rows {
                var norm: Float = 0
                for column in 0..<sizes.dimension { norm += values[row * sizes.dimension + column] * values[row * sizes.dimension + column] }
                let inverse = 1 / norm.squareRoot()
                for column in 0..<sizes.dimension { values[row * sizes.dimension + column] *= inverse }
            }
            return try HostMatrix(values: values, rows: rows, columns: sizes.dimension)
        }
        let textClassifier = try unitRows(sizes.classes)
        let features = try unitRows(sizes.rows)
        let labels = (0..<sizes.rows).map { _ in Int.random(in: 0..<sizes.classes, using: &generator) }
        let prototypes = try Prototypes.build(kind: sizes.kind, features: features, labels: labels, textClassifier: textClassifier)
        // The scale does not change the work; CLIP's customary one keeps the logits realistic.
        let classifier = try AdaptedClassifier(
            textClassifier: textClassifier, prototypes: prototypes, head: HeadParameters(alpha: 1, beta: 5.5), logitScale: 100)
        // Tip-Adapter-F's optimiser settings (the configuration's defaults); they do not change the work.
        let configuration = TrainingConfiguration(
            epochs: max(sizes.epochs, 1), batchSize: sizes.batchSize, learningRate: 1e-3, epsilon: 1e-4, weightDecay: 0.01, seed: seed)
        _ = try train(classifier, features: features, labels: labels, configuration: configuration)
        let times = try (0..<max(repeats, 1)).map { _ in
            try train(classifier, features: features, labels: labels, configuration: configuration).seconds / Double(configuration.epochs)
        }
        return times.sorted()[times.count / 2]
    }
}
