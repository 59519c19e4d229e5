import Compute
import Foundation
import PrototypeTrainer
import Testing

/// The head's gradient against central finite differences of a double-precision twin of the loss.
@Suite struct GradientTests {
    /// The affinity head's batch-mean cross-entropy in `Double`:
    /// `logits = s F Wᵀ + α exp(−β (1 − F Pᵀ)) L`.
    struct DoubleHead {
        let textClassifier: [Double]  // [classes, dim]
        let features: [Double]  // [rows, dim]
        let labels: [Int]
        let keyClasses: [Int]
        let classes: Int
        let dim: Int
        let alpha: Double
        let beta: Double
        let scale = 100.0

        var rows: Int { labels.count }

        func logits(keys: [Double]) -> [Double] {
            var result = [Double](repeating: 0, count: rows * classes)
            for row in 0..<rows {
                for classIndex in 0..<classes {
                    var dot = 0.0
                    for column in 0..<dim { dot += features[row * dim + column] * textClassifier[classIndex * dim + column] }
                    result[row * classes + classIndex] = scale * dot
                }
                for (key, keyClass) in keyClasses.enumerated() {
                    var affinity = 0.0
                    for column in 0..<dim { affinity += features[row * dim + column] * keys[key * dim + column] }
                    result[row * classes + keyClass] += alpha * exp(-beta * (1 - affinity))
                }
            }
            return result
        }

        func loss(keys: [Double]) -> Double {
            let values = logits(keys: keys)
            var total = 0.0
            for row in 0..<rows {
                let line = values[(row * classes)..<((row + 1) * classes)]
                let maximum = line.max() ?? 0
                total += log(line.reduce(0) { $0 + exp($1 - maximum) }) + maximum - values[row * classes + labels[row]]
            }
            return total / Double(rows)
        }

        /// `∂loss/∂P` by central differences with step `h`.
        func numericalGradient(keys: [Double], h: Double = 1e-6) -> [Double] {
            var probe = keys
            return keys.indices.map { index in
                probe[index] = keys[index] + h
                let up = loss(keys: probe)
                probe[index] = keys[index] - h
                let down = loss(keys: probe)
                probe[index] = keys[index]
                return (up - down) / (2 * h)
            }
        }
    }

    private func problem(kind: PrototypeKind, seed: UInt64) throws -> (AdaptedClassifier, HostMatrix, [Int], DoubleHead) {
        var generator = SeededGenerator(seed: seed)
        let classes = 5, dim = 13, rows = 11
        func unit(_ count: Int, shared: [Float], spread: Float) -> [Float] {
            var values = [Float]()
            for _ in 0..<count {
                let row = zip(shared, generator.normal(count: dim)).map { $0 + spread * $1 }
                let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
                values += row.map { $0 / norm }
            }
            return values
        }
        // A shared direction keeps the 100x zero-shot logits within a few units of each other.
        let shared = generator.normal(count: dim).map { $0 / Float(dim).squareRoot() }
        let textClassifier = try HostMatrix(values: unit(classes, shared: shared, spread: 0.08), rows: classes, columns: dim)
        let features = try HostMatrix(values: unit(rows, shared: shared, spread: 0.08), rows: rows, columns: dim)
        let labels = (0..<rows).map { _ in Int.random(in: 0..<classes, using: &generator) }
        let prototypes = kind == .mean
            ? try Prototypes.mean(features: features, labels: labels, textClassifier: textClassifier)
            : try Prototypes.cache(features: features, labels: labels, classCount: classes)
        let classifier = try AdaptedClassifier(textClassifier: textClassifier, prototypes: prototypes, head: HeadParameters(alpha: 1.7, beta: 4.5), logitScale: 100)
        let twin = DoubleHead(
            textClassifier: textClassifier.values.map(Double.init), features: features.values.map(Double.init), labels: labels,
            keyClasses: prototypes.keyClasses, classes: classes, dim: dim, alpha: 1.7, beta: 4.5)
        return (classifier, features, labels, twin)
    }

    @Test(arguments: [PrototypeKind.mean, .cache])
    func gradientMatchesFiniteDifferences(kind: PrototypeKind) throws {
        let (classifier, features, labels, twin) = try problem(kind: kind, seed: kind == .mean ? 21 : 22)
        let keys = classifier.prototypes.keys.values.map(Double.init)
        let numerical = twin.numericalGradient(keys: keys).map { Float($0) }
        let largest = numerical.map(abs).max() ?? 0
        #expect(largest > 1e-3, "the problem must have a gradient worth checking (largest \(largest))")
        for backend in try TestBackends.all {
            let (loss, gradient) = try PrototypeTrainer(backend: backend).lossAndGradient(classifier, features: features, labels: labels)
            #expect(abs(Double(loss) - twin.loss(keys: keys)) < 1e-5, "\(kind) loss on \(backend.name)")
            expectClose(gradient.values, numerical, absolute: 1e-5 * largest, relative: 1e-3, "\(kind) gradient on \(backend.name)")
        }
    }
}
