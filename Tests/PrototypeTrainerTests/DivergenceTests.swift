import Compute
import Foundation
import PrototypeTrainer
import Testing

/// Issue #12: training that diverges stops with an error naming the epoch and step; training
/// sizes are bounded before anything is allocated.
@Suite struct DivergenceTests {
    static func classifier() throws -> (AdaptedClassifier, TrainingBehaviourTests.Problem) {
        let problem = try TrainingBehaviourTests.problem()
        let prototypes = try Prototypes.mean(features: problem.features, labels: problem.labels, textClassifier: problem.textClassifier)
        let classifier = try AdaptedClassifier(textClassifier: problem.textClassifier, prototypes: prototypes, head: HeadParameters(alpha: 3, beta: 5))
        return (classifier, problem)
    }

    @Test("An infinite learning rate stops training at epoch 1, step 2 (the first loss after the update)")
    func infiniteLearningRate() throws {
        let (classifier, problem) = try Self.classifier()
        let configuration = TrainingConfiguration(epochs: 3, batchSize: 16, learningRate: .infinity, seed: 9)
        #expect(throws: TrainerError.nonFiniteTraining(quantity: "loss", epoch: 1, epochs: 3, step: 2, stepsPerEpoch: 6)) {
            try PrototypeTrainer(backend: CPUBackend()).train(classifier, features: problem.features, labels: problem.labels, configuration: configuration)
        }
    }

    @Test("The divergence message names epoch and step")
    func message() {
        let text = "\(TrainerError.nonFiniteTraining(quantity: "loss", epoch: 4, epochs: 20, step: 7, stepsPerEpoch: 9))"
        #expect(text.contains("epoch 4 of 20, step 7 of 9"), "\(text)")
    }

    @Test("Epochs × steps beyond the limits are refused before allocating")
    func hugeEpochs() throws {
        let (classifier, problem) = try Self.classifier()
        for epochs in [100_000_000_000, Int.max / 2] {
            let configuration = TrainingConfiguration(epochs: epochs, batchSize: 16, seed: 9)
            do {
                _ = try PrototypeTrainer(backend: CPUBackend()).train(classifier, features: problem.features, labels: problem.labels, configuration: configuration)
                Issue.record("expected an error")
            } catch TrainerError.invalidArgument(let name, let message) {
                #expect(name == "epochs")
                #expect(message.contains("\(epochs) epochs"), "\(message)")
            }
        }
    }
}
