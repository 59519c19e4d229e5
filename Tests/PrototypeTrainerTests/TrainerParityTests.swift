import Compute
import Foundation
import PrototypeTrainer
import Testing

/// Training runs against PyTorch (`scripts/make_trainer_fixtures.py`): the same head, AdamW, cosine
/// schedule, initial keys and batch order; losses and keys must agree within 1e-4 on every backend.
@Suite struct TrainerParityTests {
    struct Fixture: Decodable {
        let kind: String
        let classes: Int
        let dim: Int
        let rows: Int
        let views: Int
        let batchSize: Int
        let epochs: Int
        let alpha: Float
        let beta: Float
        let learningRate: Float
        let epsilon: Float
        let weightDecay: Float
        let textClassifier: [Float]
        let viewFeatures: [Float]
        let features: [Float]
        let labels: [Int]
        let initialKeys: [Float]
        let keyClasses: [Int]
        let batchOrders: [[Int]]
        let firstBatchGradient: [Float]
        let stepLosses: [Float]
        let learningRates: [Double]
        let finalKeys: [Float]
        let testFeatures: [Float]
        let testLogits: [Float]
    }

    static func load(_ name: String) throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: try Data(contentsOf: fixtureURL(name)))
    }

    /// The classifier with prototypes built by the module from the fixture's inputs.
    private func classifier(_ fixture: Fixture) throws -> AdaptedClassifier {
        let textClassifier = try HostMatrix(values: fixture.textClassifier, rows: fixture.classes, columns: fixture.dim)
        let features = try trainingFeatures(fixture)
        let prototypes = fixture.kind == "mean"
            ? try Prototypes.mean(features: features, labels: fixture.labels, textClassifier: textClassifier)
            : try Prototypes.cache(features: features, labels: fixture.labels, classCount: fixture.classes)
        return try AdaptedClassifier(
            textClassifier: textClassifier, prototypes: prototypes, head: HeadParameters(alpha: fixture.alpha, beta: fixture.beta), logitScale: 100)
    }

    private func trainingFeatures(_ fixture: Fixture) throws -> HostMatrix {
        try FeatureViews.average(fixture.viewFeatures, viewCount: fixture.views, imageCount: fixture.rows, dimension: fixture.dim)
    }

    @Test(arguments: ["trainer_mean.json", "trainer_cache.json"])
    func prototypesMatchReference(name: String) throws {
        let fixture = try Self.load(name)
        expectClose(try trainingFeatures(fixture).values, fixture.features, absolute: 1e-6, relative: 0, "\(name) view-averaged features")
        let prototypes = try classifier(fixture).prototypes
        #expect(prototypes.keyClasses == fixture.keyClasses, "\(name) key classes")
        expectClose(prototypes.keys.values, fixture.initialKeys, absolute: 1e-6, relative: 0, "\(name) initial keys")
    }

    @Test(arguments: ["trainer_mean.json", "trainer_cache.json"])
    func gradientMatchesAutograd(name: String) throws {
        let fixture = try Self.load(name)
        let classifier = try classifier(fixture)
        let features = try trainingFeatures(fixture)
        let batch = Array(fixture.batchOrders[0].prefix(fixture.batchSize))
        for backend in try TestBackends.all {
            let (_, gradient) = try PrototypeTrainer(backend: backend).lossAndGradient(
                classifier, features: try features.rows(at: batch), labels: batch.map { fixture.labels[$0] })
            expectClose(gradient.values, fixture.firstBatchGradient, absolute: 2e-6, relative: 1e-3, "\(name) gradient on \(backend.name)")
        }
    }

    @Test(arguments: ["trainer_mean.json", "trainer_cache.json"])
    func trainingMatchesPyTorch(name: String) throws {
        let fixture = try Self.load(name)
        let configuration = TrainingConfiguration(
            epochs: fixture.epochs, batchSize: fixture.batchSize, learningRate: fixture.learningRate, epsilon: fixture.epsilon,
            weightDecay: fixture.weightDecay, batchOrder: .explicit(fixture.batchOrders), seed: 1)
        let testFeatures = try HostMatrix(values: fixture.testFeatures, rows: fixture.testFeatures.count / fixture.dim, columns: fixture.dim)
        for backend in try TestBackends.all {
            let result = try PrototypeTrainer(backend: backend).train(
                try classifier(fixture), features: try trainingFeatures(fixture), labels: fixture.labels, configuration: configuration)
            let label = "\(name) on \(backend.name)"
            expectClose(result.stepLosses, fixture.stepLosses, absolute: 1e-4, relative: 0, "\(label) step losses")
            expectClose(result.prototypes.keys.values, fixture.finalKeys, absolute: 1e-4, relative: 0, "\(label) trained keys")
            expectClose(
                result.learningRates, fixture.learningRates.map(Float.init), absolute: 0, relative: 1e-6, "\(label) learning rates")
            #expect(result.epochLosses.count == fixture.epochs)
            let logits = try result.classifier.logits(features: testFeatures, backend: backend, batchSize: 4)
            expectClose(logits.values, fixture.testLogits, absolute: 1e-4, relative: 1e-5, "\(label) logits of the trained head")
        }
    }
}
