import Compute
import PseudoLabeling
import Foundation
import TestSupport
import Testing

/// The selector against the numpy reference of `scripts/make_trainer_fixtures.py`.
@Suite struct SelectorTests {
    struct Case: Decodable {
        struct Expected: Decodable {
            let indices: [Int]
            let pseudoLabels: [Int]
            let confidences: [Double]
            let perClassCounts: [Int]
        }
        let perClass: Int
        let minimumConfidence: Float?
        let expected: Expected
    }

    struct Ties: Decodable {
        let labels: [Int]
        let confidences: [Float]
        let classes: Int
        let cases: [Case]
    }

    struct Fixture: Decodable {
        let classes: Int
        let templates: Int
        let dim: Int
        let images: Int
        let templateEmbeddings: [Float]
        let features: [Float]
        let trueLabels: [Int]
        let classifier: [Double]
        let labels: [Int]
        let confidences: [Double]
        let configurations: [Case]
        let ties: Ties
    }

    static let fixture: Fixture? = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/selector.json")
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(Fixture.self, from: data)
    }()

    /// The first OpenCL device, or nil where none is installed (under CI a missing device fails
    /// the test: `OpenCLTesting`).
    static var openCL: OpenCLBackend? {
        get throws { try OpenCLTesting.backend(skipping: "the selector's OpenCL cases") }
    }

    static var backends: [any TrainingBackend] {
        get throws { [ReferenceBackend(), CPUBackend()] + (try openCL.map { [$0] } ?? []) }
    }

    private func classifier(_ fixture: Fixture) throws -> TextClassifier {
        try TextClassifier(templateEmbeddings: fixture.templateEmbeddings, classCount: fixture.classes, templateCount: fixture.templates, dimension: fixture.dim)
    }

    private func expect(_ selection: ConfidentSelection, equals expected: Case.Expected, _ label: String) {
        #expect(selection.indices == expected.indices, "\(label): indices")
        #expect(selection.pseudoLabels == expected.pseudoLabels, "\(label): pseudo-labels")
        #expect(selection.perClassCounts == expected.perClassCounts, "\(label): per-class counts")
        let comparison = Comparison(
            actual: selection.confidences, expected: expected.confidences.map(Float.init), absoluteTolerance: 1e-5, relativeTolerance: 0)
        #expect(comparison.passed, "\(label): confidences \(comparison)")
    }

    @Test func textClassifierMatchesReference() throws {
        let fixture = try #require(Self.fixture)
        let built = try classifier(fixture)
        let comparison = Comparison(
            actual: built.weights.values, expected: fixture.classifier.map(Float.init), absoluteTolerance: 1e-6, relativeTolerance: 1e-6)
        #expect(comparison.passed, "\(comparison)")
        // One class at a time gives the same rows.
        let block = fixture.templates * fixture.dim
        let lazy = try TextClassifier(classCount: fixture.classes, dimension: fixture.dim) { index in
            Array(fixture.templateEmbeddings[(index * block)..<((index + 1) * block)])
        }
        #expect(lazy == built)
    }

    @Test func zeroShotPredictionsMatchReferenceOnEveryBackend() throws {
        let fixture = try #require(Self.fixture)
        let features = try HostMatrix(values: fixture.features, rows: fixture.images, columns: fixture.dim)
        for backend in try Self.backends {
            // 40 rows per batch: three full batches and a partial one.
            let zeroShot = try ZeroShotClassifier(backend: backend, classifier: try classifier(fixture), logitScale: 100, batchSize: 40)
            let fromHost = try zeroShot.predict(features: features)
            #expect(fromHost.labels == fixture.labels, "labels on \(backend.name)")
            let comparison = Comparison(
                actual: fromHost.confidences, expected: fixture.confidences.map(Float.init), absoluteTolerance: 1e-5, relativeTolerance: 0)
            #expect(comparison.passed, "confidences on \(backend.name): \(comparison)")
            let fromDevice = try zeroShot.predict(features: try backend.upload(fixture.features, shape: [fixture.images, fixture.dim]))
            #expect(fromDevice == fromHost, "device features on \(backend.name)")
        }
    }

    @Test func zeroShotLogitsMatchReference() throws {
        let fixture = try #require(Self.fixture)
        let features = try HostMatrix(values: fixture.features, rows: fixture.images, columns: fixture.dim)
        let zeroShot = try ZeroShotClassifier(backend: CPUBackend(), classifier: try classifier(fixture), logitScale: 100, batchSize: 64)
        let logits = try zeroShot.logits(features: features)
        #expect(logits.rows == fixture.images && logits.columns == fixture.classes)
        // Row-wise argmax of the logits is the pseudo-label.
        let argmax = (0..<logits.rows).map { row in
            logits.row(row).indices.max { logits.values[$0] < logits.values[$1] }.map { $0 - row * logits.columns } ?? -1
        }
        #expect(argmax == fixture.labels)
    }

    @Test func selectionMatchesReference() throws {
        let fixture = try #require(Self.fixture)
        let features = try HostMatrix(values: fixture.features, rows: fixture.images, columns: fixture.dim)
        let predictions = try ZeroShotClassifier(backend: CPUBackend(), classifier: try classifier(fixture), logitScale: 100).predict(features: features)
        for configuration in fixture.configurations {
            let selection = try ConfidentSelector.select(
                predictions, classCount: fixture.classes,
                perClass: configuration.perClass, minimumConfidence: configuration.minimumConfidence)
            expect(selection, equals: configuration.expected, "K \(configuration.perClass), min \(String(describing: configuration.minimumConfidence))")
            #expect(Set(selection.indices).count == selection.count, "an image is used at most once")
        }
    }

    @Test func tiesGoToTheLowerIndex() throws {
        let ties = try #require(Self.fixture?.ties)
        let predictions = try ZeroShotPredictions(labels: ties.labels, confidences: ties.confidences)
        for configuration in ties.cases {
            let selection = try ConfidentSelector.select(
                predictions, classCount: ties.classes,
                perClass: configuration.perClass, minimumConfidence: configuration.minimumConfidence)
            expect(selection, equals: configuration.expected, "ties, K \(configuration.perClass)")
        }
    }

    @Test func precisionCountsAgreeingPseudoLabels() throws {
        let fixture = try #require(Self.fixture)
        let predictions = try ZeroShotPredictions(labels: fixture.labels, confidences: fixture.confidences.map(Float.init))
        let selection = try ConfidentSelector.select(predictions, classCount: fixture.classes, perClass: 16)
        let agreeing = zip(selection.indices, selection.pseudoLabels).filter { fixture.trueLabels[$0] == $1 }.count
        #expect(try selection.precision(trueLabels: fixture.trueLabels) == Double(agreeing) / Double(selection.count))
        #expect(throws: SelectorError.self) { try selection.precision(trueLabels: [0]) }
    }

    @Test func invalidInputsThrow() throws {
        #expect(throws: SelectorError.self) { try TextClassifier(templateEmbeddings: [1, 2, 3], classCount: 2, templateCount: 1, dimension: 2) }
        #expect(throws: SelectorError.degenerateClass(index: 1)) {
            try TextClassifier(templateEmbeddings: [1, 0, 0, 0], classCount: 2, templateCount: 1, dimension: 2)
        }
        let classifier = try TextClassifier(templateEmbeddings: [1, 0, 0, 1], classCount: 2, templateCount: 1, dimension: 2)
        let zeroShot = try ZeroShotClassifier(backend: CPUBackend(), classifier: classifier, logitScale: 100)
        #expect(throws: SelectorError.self) { try zeroShot.predict(features: try HostMatrix(values: [1, 2, 3], rows: 1, columns: 3)) }
        let predictions = try ZeroShotPredictions(labels: [0, 5], confidences: [0.5, 0.5])
        #expect(throws: SelectorError.self) { try ConfidentSelector.select(predictions, classCount: 2, perClass: 16) }
    }
}
