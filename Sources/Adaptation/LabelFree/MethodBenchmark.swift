import Compute
import PseudoLabeling
import Foundation

/// Seeded synthetic clustered features for `upadapter bench methods`: unit class centres, images
/// scattered around them (cosine about 0.55 to their centre), and a text classifier that points
/// near the centres with a per-class error, so that zero-shot is imperfect and the pool's
/// structure can correct it. Pool and test share the class profile: balanced, or long-tailed with
/// `imbalance` = largest class / smallest class.
public struct SyntheticFeatures: Sendable {
    /// `[classes, dimension]`.
    public let textClassifier: HostMatrix
    /// `[poolImages, dimension]`, unit rows.
    public let pool: HostMatrix
    public let poolLabels: [Int]
    /// `[testImages, dimension]`, unit rows.
    public let test: HostMatrix
    public let testLabels: [Int]

    /// - Throws: `AdaptationError.invalidSetting` for fewer pool images than classes, fewer than 2
    ///   classes or dimensions, or an imbalance below 1.
    public init(poolImages: Int, testImages: Int, classes: Int, dimension: Int, imbalance: Double = 1, seed: UInt64 = 1) throws {
        guard poolImages >= classes, testImages >= 1, classes >= 2, dimension >= 2, imbalance >= 1 else {
            throw AdaptationError.invalidSetting(
                name: "synthetic features",
                value: "pool \(poolImages), test \(testImages), classes \(classes), dimension \(dimension), imbalance \(imbalance)",
                reason: "needs at least as many pool images as classes, 2 classes, 2 dimensions and an imbalance of at least 1")
        }
        var generator = SeededGenerator(seed: seed)
        var centres = generator.normal(count: classes * dimension)
        Self.normalizeRows(&centres, width: dimension)
        var text = centres
        let error = generator.normal(count: classes * dimension, standardDeviation: (2.0 / Float(dimension)).squareRoot())
        for index in text.indices { text[index] += error[index] }
        Self.normalizeRows(&text, width: dimension)
        let weights = (0..<classes).map { Foundation.pow(imbalance, -Double($0) / Double(classes - 1)) }
        textClassifier = try HostMatrix(values: text, rows: classes, columns: dimension)
        (pool, poolLabels) = try Self.draw(poolImages, centres: centres, weights: weights, dimension: dimension, generator: &generator)
        (test, testLabels) = try Self.draw(testImages, centres: centres, weights: weights, dimension: dimension, generator: &generator)
    }

    private static func draw(
        _ count: Int, centres: [Float], weights: [Double], dimension: Int, generator: inout SeededGenerator
    ) throws -> (HostMatrix, [Int]) {
        let total = weights.reduce(0, +)
        var labels = [Int]()
        labels.reserveCapacity(count)
        for (c, weight) in weights.enumerated() { labels += [Int](repeating: c, count: max(1, Int((Double(count) * weight / total).rounded()))) }
        labels = Array(labels.prefix(count))
        while labels.count < count { labels.append(0) }
        labels.shuffle(using: &generator)
        let spread = (2.25 / Float(dimension)).squareRoot()
        var values = [Float](repeating: 0, count: count * dimension)
        for start in stride(from: 0, to: count, by: 4096) {
            let rows = min(4096, count - start)
            let noise = generator.normal(count: rows * dimension, standardDeviation: spread)
            for row in 0..<rows {
                let base = (start + row) * dimension, centre = labels[start + row] * dimension
                for d in 0..<dimension { values[base + d] = centres[centre + d] + noise[row * dimension + d] }
            }
        }
        normalizeRows(&values, width: dimension)
        return (try HostMatrix(values: values, rows: count, columns: dimension), labels)
    }

    private static func normalizeRows(_ values: inout [Float], width: Int) {
        for start in stride(from: 0, to: values.count, by: width) {
            var sum: Float = 0
            for index in start..<(start + width) { sum += values[index] * values[index] }
            let inverse = sum > 0 ? 1 / sum.squareRoot() : 0
            for index in start..<(start + width) { values[index] *= inverse }
        }
    }
}

extension SyntheticFeatures {
    /// The zero-shot logit scale of the synthetic text classifier: OpenAI CLIP's learned value,
    /// which the published methods' temperatures assume.
    public static let logitScale: Float = 100
}

/// One label-free method on `SyntheticFeatures`, for `upadapter bench methods`: fitted on the
/// pool, applied to the test split, scored against the generator's classes.
public enum MethodBenchmark {
    /// The methods the benchmark runs, by the names `--method` takes.
    public static let methodNames = [
        "zero_shot", "prior_transport", "inmap", "transclip_transductive", "transclip_inductive", "zlap_transductive", "zlap_inductive",
    ]

    /// What one method achieved: seconds of the fit and the test split's assignment, accuracies in [0, 1].
    public struct Result: Sendable {
        public let seconds: Double
        public let top1: Double
        public let balancedAccuracy: Double
    }

    /// The method named `name` with its published defaults, but `proxySteps` gradient steps for
    /// InMaP's vision proxies (its recipe: 2000), and the same fraction of its recipe for each of
    /// prior transport's rounds (its recipe: 8 rounds × 500 steps; `proxySteps` 20 gives 8 × 5).
    ///
    /// - Throws: `AdaptationError.invalidSetting` for a name outside `methodNames`.
    public static func method(named name: String, proxySteps: Int) throws -> any AdaptationMethod {
        switch name {
        case "zero_shot": return ZeroShotMethod()
        case "prior_transport":
            var settings = PriorTransportMethod.Settings()
            settings.transport.steps = max(1, proxySteps * settings.transport.steps / InMaPMethod.Settings().steps)
            return PriorTransportMethod(settings: settings)
        case "inmap":
            var settings = InMaPMethod.Settings()
            settings.steps = proxySteps
            return InMaPMethod(settings: settings)
        case "transclip_transductive": return TransCLIPMethod(mode: .transductive)
        case "transclip_inductive": return TransCLIPMethod(mode: .inductive)
        case "zlap_transductive": return ZLaPMethod(mode: .transductive)
        case "zlap_inductive": return ZLaPMethod(mode: .inductive)
        default:
            throw AdaptationError.invalidSetting(name: "method", value: name, reason: "must be one of " + methodNames.joined(separator: ", "))
        }
    }

    /// Fits `method` on `data.pool` and assigns every test image; times both together.
    public static func run(_ method: any AdaptationMethod, on data: SyntheticFeatures, backend: any TrainingBackend, seed: UInt64) throws -> Result {
        let zeroShot = ZeroShotModel(textClassifier: data.textClassifier, logitScale: SyntheticFeatures.logitScale)
        let context = try AdaptationContext(
            textClassifier: data.textClassifier, logitScale: SyntheticFeatures.logitScale, pool: data.pool,
            zeroShotPredictions: try zeroShot.predictions(features: data.pool, backend: backend), scoringSample: [],
            backend: backend, seed: seed)
        let start = Date()
        let outcome = try method.adapt(context)
        let predicted = try outcome.classifier.predictions(features: data.test, backend: backend).labels
        let seconds = Date().timeIntervalSince(start)
        let correct = zip(predicted, data.testLabels).filter { $0 == $1 }.count
        let balanced = try ClassificationMetrics.balancedAccuracy(trueLabels: data.testLabels, predictedLabels: predicted)
        return Result(seconds: seconds, top1: Double(correct) / Double(data.testLabels.count), balancedAccuracy: balanced)
    }
}
