import Compute
import Testing
@testable import Adaptation

/// `predictions(features:backend:blockRows:)`: blocks for classifiers that score each image
/// alone, the whole set for transductive ones.
@Suite struct PredictionBlockTests {
    @Test func blocksGiveTheSamePredictionsAsOneCall() throws {
        let data = try SyntheticFeatures(poolImages: 1000, testImages: 10, classes: 7, dimension: 12, seed: 5)
        let model = ZeroShotModel(textClassifier: data.textClassifier, logitScale: 100)
        let whole = try model.predictions(features: data.pool, backend: CPUBackend(), blockRows: 1000)
        for blockRows in [1, 64, 333] {
            let blocked = try model.predictions(features: data.pool, backend: CPUBackend(), blockRows: blockRows)
            #expect(blocked.labels == whole.labels, "blocks of \(blockRows)")
            #expect(zip(blocked.confidences, whole.confidences).allSatisfy { abs($0 - $1) <= 1e-6 }, "blocks of \(blockRows)")
        }
    }

    @Test func aTransductiveClassifierSeesTheWholeSet() throws {
        let data = try SyntheticFeatures(poolImages: 300, testImages: 10, classes: 3, dimension: 8, seed: 6)
        // Labels every image by the size of the set it was given: 300 images → class 2, fewer → class 0.
        let classifier = TransductiveClassifier(classCount: 3) { features, _ in
            let best = features.rows == 300 ? 2 : 0
            return try HostMatrix(
                values: (0..<(features.rows * 3)).map { $0 % 3 == best ? 1 : 0 }, rows: features.rows, columns: 3)
        }
        #expect(!classifier.scoresEachImageAlone)
        let predictions = try classifier.predictions(features: data.pool, backend: CPUBackend(), blockRows: 7)
        #expect(predictions.labels == [Int](repeating: 2, count: 300))
    }
}
