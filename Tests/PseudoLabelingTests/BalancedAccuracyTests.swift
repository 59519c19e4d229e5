import PseudoLabeling
import Foundation
import Testing

/// `ClassificationMetrics.balancedAccuracy` against the numpy definition of
/// `scripts/make_balanced_accuracy_fixtures.py` and against hand-built labels.
@Suite struct BalancedAccuracyTests {
    struct Case: Decodable {
        let name: String
        let trueLabels: [Int]
        let predictedLabels: [Int]
        let balancedAccuracy: Double
        let top1Accuracy: Double
    }

    struct Fixture: Decodable {
        let cases: [Case]
    }

    static func fixture() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/balanced_accuracy.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    @Test func matchesTheNumpyDefinition() throws {
        let fixture = try Self.fixture()
        #expect(fixture.cases.count == 6)
        for item in fixture.cases {
            let value = try ClassificationMetrics.balancedAccuracy(trueLabels: item.trueLabels, predictedLabels: item.predictedLabels)
            #expect(abs(value - item.balancedAccuracy) < 1e-12, "\(item.name): \(value) vs numpy \(item.balancedAccuracy)")
        }
        // The long-tailed cases are the reason for the metric: there it differs from top-1.
        let longTailed = fixture.cases.filter { $0.name.hasPrefix("long-tailed") }
        #expect(longTailed.count == 2)
        for item in longTailed { #expect(item.top1Accuracy - item.balancedAccuracy > 0.1) }
    }

    /// Four images of class 0, all right; one of class 1, wrong. Top-1 is 4/5, but the classes'
    /// accuracies are 1 and 0, so the balanced accuracy is 1/2.
    @Test func handBuiltHeadAndTail() throws {
        let value = try ClassificationMetrics.balancedAccuracy(trueLabels: [0, 0, 0, 0, 1], predictedLabels: [0, 0, 0, 0, 0])
        #expect(value == 0.5)
    }

    /// Classes 0 (2 images, 1 right), 2 (1 image, right) and 5 (4 images, 1 right); class 3 is
    /// only predicted. Mean of 1/2, 1 and 1/4 = 7/12.
    @Test func classesAbsentFromTheTruthAreLeftOut() throws {
        let value = try ClassificationMetrics.balancedAccuracy(
            trueLabels: [0, 0, 2, 5, 5, 5, 5], predictedLabels: [0, 3, 2, 5, 3, 3, 0])
        #expect(abs(value - 7.0 / 12.0) < 1e-15)
        #expect(ClassificationMetrics.balancedAccuracy(perClassAccuracy: [0.5, .nan, 1, .nan, .nan, 0.25]) == 7.0 / 12.0)
    }

    @Test func emptyAndBadInput() throws {
        #expect(try ClassificationMetrics.balancedAccuracy(trueLabels: [], predictedLabels: []).isNaN)
        #expect(ClassificationMetrics.balancedAccuracy(perClassAccuracy: [.nan]).isNaN)
        #expect(throws: SelectorError.self) { try ClassificationMetrics.balancedAccuracy(trueLabels: [0, 1], predictedLabels: [0]) }
        do {
            _ = try ClassificationMetrics.balancedAccuracy(trueLabels: [0, -1], predictedLabels: [0, 0])
            Issue.record("a negative label was accepted")
        } catch let error as SelectorError {
            #expect(error.description.contains("trueLabels[1]"))
        }
    }
}
