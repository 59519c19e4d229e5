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
        let classifier = try AdaptedClassifier(textClassifier: problem.textClassifier, prototypes: prototypes, head: HeadParameters(alpha: 3, beta: 5), logitScale: 100)
        return (classifier, problem)
    }

    @Test("An infinite learning rate stops training at epoch 1, step 2 (the first loss after the update)")
    func infiniteLearningRate() throws {
        let (classifier, problem) = try Self.classifier()
        let configuration = TrainingConfiguration(epochs: 3, batchSize: 16, learningRate: .infinity, epsilon: 1e-4, weightDecay: 0.01, seed: 9)
        #expect(throws: TrainerError.nonFiniteTraining(quantity: "loss", epoch: 1, epochs: 3, step: 2, stepsPerEpoch: 6)) {
            try PrototypeTrainer(backend: CPUBackend()).train(classifier, features: problem.features, labels: problem.labels, configuration: configuration)
        }
    }

    @Test("A diverging run stops after the epoch of its first non-finite loss, not after the last epoch")
    func stopsEarly() throws {
        let (classifier, problem) = try Self.classifier()
        // A finite but absurd learning rate: the keys overflow within a few steps.
        let configuration = TrainingConfiguration(epochs: 40, batchSize: 16, learningRate: 1e30, epsilon: 1e-4, weightDecay: 0.01, seed: 9)
        let backend = CPUBackend(), profile = OperationProfile()
        backend.profile = profile
        do {
            _ = try PrototypeTrainer(backend: backend).train(classifier, features: problem.features, labels: problem.labels, configuration: configuration)
            Issue.record("expected training to diverge")
        } catch TrainerError.nonFiniteTraining(let quantity, let epoch, let epochs, let step, let stepsPerEpoch) {
            #expect(quantity == "loss" && epochs == 40 && stepsPerEpoch == 6)
            #expect(epoch < 40 && step >= 1 && step <= 6)
            // Stopped at the end of the epoch where the loss went bad: its 6 steps were taken, no more.
            let steps = profile.entries.first { $0.operation == "adamWStep" }?.calls ?? 0
            #expect(steps == epoch * stepsPerEpoch, "\(steps) optimiser steps for a divergence in epoch \(epoch)")
        }
    }

    @Test("A run that does not diverge still returns every step's loss, in order")
    func lossesKept() throws {
        let (classifier, problem) = try Self.classifier()
        let configuration = TrainingConfiguration(epochs: 3, batchSize: 16, learningRate: 1e-3, epsilon: 1e-4, weightDecay: 0.01, seed: 9)
        let result = try PrototypeTrainer(backend: CPUBackend()).train(classifier, features: problem.features, labels: problem.labels, configuration: configuration)
        #expect(result.stepLosses.count == 18 && result.stepLosses.allSatisfy(\.isFinite))
        for epoch in 0..<3 {
            let mean = result.stepLosses[(epoch * 6)..<((epoch + 1) * 6)].reduce(0, +) / 6
            #expect(abs(result.epochLosses[epoch] - mean) <= 1e-6 * max(1, abs(mean)))
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
            let configuration = TrainingConfiguration(epochs: epochs, batchSize: 16, learningRate: 1e-3, epsilon: 1e-4, weightDecay: 0.01, seed: 9)
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
