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

        public init(rows: Int, classes: Int, dimension: Int = 512, batchSize: Int = 256, kind: PrototypeKind = .mean) {
            self.rows = rows
            self.classes = classes
            self.dimension = dimension
            self.batchSize = batchSize
            self.kind = kind
        }
    }

    /// Seconds one training epoch takes on this backend for random unit-norm features and
    /// classifier rows of the given sizes (α 1, β 5.5, shuffled batches): the median of `repeats`
    /// one-epoch runs after one untimed warm-up epoch (which builds kernels and touches memory).
    /// Each timed run includes uploading the training rows and reading the losses back.
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
        let classifier = try AdaptedClassifier(textClassifier: textClassifier, prototypes: prototypes, head: HeadParameters(alpha: 1, beta: 5.5))
        let configuration = TrainingConfiguration(epochs: 1, batchSize: sizes.batchSize, seed: seed)
        _ = try train(classifier, features: features, labels: labels, configuration: configuration)
        let times = try (0..<max(repeats, 1)).map { _ in
            try train(classifier, features: features, labels: labels, configuration: configuration).seconds
        }
        return times.sorted()[times.count / 2]
    }
}
