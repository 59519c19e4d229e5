import Compute
import PseudoLabeling
import Foundation
import PrototypeTrainer

/// A classifier of image features that returns a probability for every class: what every
/// adaptation method produces, whatever it is built from.
public protocol ProbabilisticClassifier: Sendable {
    /// Number of classes.
    var classCount: Int { get }
    /// The logits of `features` `[images, dim]`, `[images, classes]`; the probabilities are their
    /// row-wise softmax.
    func logits(features: HostMatrix, backend: any TrainingBackend) throws -> HostMatrix
    /// Whether an image's logits depend on that image alone (true), so that a large set may be
    /// scored in blocks; false for transductive classifiers, which must see the whole set at once.
    var scoresEachImageAlone: Bool { get }
}

extension ProbabilisticClassifier {
    public var scoresEachImageAlone: Bool { true }

    /// The class probabilities of `features` `[images, dim]`, `[images, classes]`.
    public func probabilities(features: HostMatrix, backend: any TrainingBackend) throws -> HostMatrix {
        try ClassProbabilities.softmax(try logits(features: features, backend: backend))
    }

    /// Pseudo-label (`argmax`, the lowest class on ties) and confidence (`max p`) of every image.
    ///
    /// A classifier that scores each image alone works through `features` in blocks of
    /// `blockRows` images, so that memory beyond the features is `blockRows × classes` whatever
    /// the count of images (an ImageNet-size pool's full probability matrix alone is
    /// 1.28 M × 1000 floats, 5 GB); a transductive one gets the whole set in one block.
    public func predictions(features: HostMatrix, backend: any TrainingBackend, blockRows: Int = 65_536) throws -> ZeroShotPredictions {
        let blockRows = scoresEachImageAlone ? max(blockRows, 1) : max(features.rows, 1)
        var labels = [Int](), confidences = [Float]()
        labels.reserveCapacity(features.rows)
        confidences.reserveCapacity(features.rows)
        for start in stride(from: 0, to: features.rows, by: blockRows) {
            let count = min(blockRows, features.rows - start)
            let block = start == 0 && count == features.rows ? features : try HostMatrix(
                values: Array(features.values[(start * features.columns)..<((start + count) * features.columns)]),
                rows: count, columns: features.columns)
            let probabilities = try probabilities(features: block, backend: backend)
            for row in 0..<probabilities.rows {
                let line = probabilities.row(row)
                var best = line.startIndex
                for index in line.indices where line[index] > line[best] { best = index }
                labels.append(best - line.startIndex)
                confidences.append(line[best])
            }
        }
        return try ZeroShotPredictions(labels: labels, confidences: confidences)
    }
}

extension AdaptedClassifier: ProbabilisticClassifier {
    public var classCount: Int { textClassifier.rows }

    public func logits(features: HostMatrix, backend: any TrainingBackend) throws -> HostMatrix {
        try logits(features: features, backend: backend, batchSize: 1024)
    }
}

/// Zero-shot CLIP as a classifier: `logits = s · F · Wᵀ`.
public struct ZeroShotModel: ProbabilisticClassifier {
    /// `W`, `[classes, dim]`, L2-normalised rows.
    public let textClassifier: HostMatrix
    /// `s`, CLIP's temperature.
    public let logitScale: Float

    public init(textClassifier: HostMatrix, logitScale: Float) {
        self.textClassifier = textClassifier
        self.logitScale = logitScale
    }

    public var classCount: Int { textClassifier.rows }

    public func logits(features: HostMatrix, backend: any TrainingBackend) throws -> HostMatrix {
        let classifier = TextClassifier(weights: textClassifier)
        return try ZeroShotClassifier(backend: backend, classifier: classifier, logitScale: logitScale).logits(features: features)
    }
}

/// Row-wise softmax on the host, in `Double` accumulation.
public enum ClassProbabilities {
    /// `softmax` of every row of `logits` `[rows, classes]`.
    /// - Throws: `AdaptationError.nonFinite` when a logit is NaN or infinite.
    public static func softmax(_ logits: HostMatrix) throws -> HostMatrix {
        var values = [Float](repeating: 0, count: logits.values.count)
        let classes = logits.columns
        for row in 0..<logits.rows {
            let base = row * classes
            var maximum = -Float.infinity
            for column in 0..<classes {
                let value = logits.values[base + column]
                guard value.isFinite else { throw AdaptationError.nonFinite(what: "logit of row \(row), class \(column)") }
                maximum = max(maximum, value)
            }
            var sum = 0.0
            for column in 0..<classes {
                let e = Foundation.exp(Double(logits.values[base + column] - maximum))
                values[base + column] = Float(e)
                sum += e
            }
            let inverse = 1 / sum
            for column in 0..<classes { values[base + column] = Float(Double(values[base + column]) * inverse) }
        }
        return try HostMatrix(values: values, rows: logits.rows, columns: classes)
    }
}
