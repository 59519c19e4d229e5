import Adaptation
import Compute
import PseudoLabeling
import Foundation
import PrototypeTrainer
import TestSupport
import Testing

/// Backends the methods run on: the CPU backend and, where present, the first OpenCL device.
enum AdaptationBackends {
    /// The first OpenCL device, or nil where none is installed (under CI a missing device fails
    /// the test: `OpenCLTesting`).
    static var openCL: OpenCLBackend? {
        get throws { try OpenCLTesting.backend(skipping: "the methods' OpenCL cases") }
    }

    static var all: [any TrainingBackend] {
        get throws { [CPUBackend()] + (try openCL.map { [$0] } ?? []) }
    }
}

/// A CLIP-like problem with known truth: images scatter around class centres that share a common
/// direction; the text classifier points near the centres but two classes' prompts are swapped
/// towards each other, so zero-shot is partly wrong and the pool's structure can fix it.
struct SyntheticPool {
    let textClassifier: HostMatrix
    let pool: HostMatrix
    let labels: [Int]

    init(classes: Int = 4, dimension: Int = 24, perClass: Int = 150, seed: UInt64 = 11) throws {
        var generator = SeededGenerator(seed: seed)
        func normalised(_ row: [Float]) -> [Float] {
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return row.map { $0 / norm }
        }
        let shared = normalised(generator.normal(count: dimension))
        let centres = (0..<classes).map { _ in normalised(generator.normal(count: dimension)) }
        var text = [Float]()
        for classIndex in 0..<classes {
            // Class 1's prompt leans towards class 0's centre: zero-shot confuses them.
            let lean: Float = classIndex == 1 ? 0.5 : 0
            text += normalised((0..<dimension).map { shared[$0] + 0.3 * centres[classIndex][$0] + lean * centres[0][$0] })
        }
        var features = [Float](), labels = [Int]()
        for row in 0..<(classes * perClass) {
            let label = row % classes
            let noise = generator.normal(count: dimension, standardDeviation: 0.25)
            features += normalised((0..<dimension).map { shared[$0] + 0.35 * (centres[label][$0] + noise[$0]) })
            labels.append(label)
        }
        textClassifier = try HostMatrix(values: text, rows: classes, columns: dimension)
        pool = try HostMatrix(values: features, rows: classes * perClass, columns: dimension)
        self.labels = labels
    }

    func context(backend: any TrainingBackend, logitScale: Float = 20, seed: UInt64 = 1) throws -> AdaptationContext {
        let zeroShot = ZeroShotModel(textClassifier: textClassifier, logitScale: logitScale)
        return try AdaptationContext(
            textClassifier: textClassifier, logitScale: logitScale, pool: pool,
            zeroShotPredictions: try zeroShot.predictions(features: pool, backend: backend),
            scoringSample: AdaptationContext.sample(poolSize: pool.rows, count: 300, seed: 3), backend: backend, seed: seed)
    }

    func accuracy(_ classifier: any ProbabilisticClassifier, backend: any TrainingBackend) throws -> Double {
        let predicted = try classifier.predictions(features: pool, backend: backend).labels
        return Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(labels.count)
    }
}

@Suite struct MethodTests {
    static let training = TrainingConfiguration(epochs: 10, batchSize: 64, learningRate: 1e-3, epsilon: 1e-4, weightDecay: 0.01, seed: 1)

    @Test("selection rules: K per class, a share of the pool, a confidence threshold")
    func selectionRules() throws {
        let predictions = try ZeroShotPredictions(labels: [0, 0, 0, 1, 1, 2, 2, 2, 2, 2], confidences: [0.9, 0.5, 0.7, 0.8, 0.95, 0.6, 0.99, 0.3, 0.4, 0.7])
        let top = try SelectionRule.topK(2).select(predictions, classCount: 3)
        #expect(top.indices == [0, 2, 4, 3, 6, 9])
        #expect(SelectionRule.poolShare(0.5).perClassLimit(images: 10, classes: 3) == 2)  // round(0.5 · 10 / 3)
        #expect(try SelectionRule.poolShare(0.5).select(predictions, classCount: 3) == top)
        let confident = try SelectionRule.minimumConfidence(0.75).select(predictions, classCount: 3)
        #expect(confident.indices == [0, 4, 3, 6])
        #expect(throws: AdaptationError.emptySelection(rule: "confidence ≥ 0.999")) {
            try SelectionRule.minimumConfidence(0.999).select(predictions, classCount: 3)
        }
        #expect(throws: AdaptationError.self) { try SelectionRule.poolShare(1.5).validate() }
    }

    @Test("information maximisation chooses a candidate that beats zero-shot on separable clusters", arguments: try AdaptationBackends.all.map { $0 as any TrainingBackend & Sendable })
    func modelSelectionOnClusters(backend: any TrainingBackend & Sendable) throws {
        let problem = try SyntheticPool()
        let context = try problem.context(backend: backend)
        let zeroShotAccuracy = try problem.accuracy(context.zeroShot, backend: backend)
        #expect(zeroShotAccuracy < 0.9, "the problem must leave zero-shot room to improve (\(zeroShotAccuracy))")
        let selection = ModelSelection(
            rules: [.topK(10), .poolShare(0.5)], alphas: [0, 2, 8], betas: [1, 5],
            criteria: [.informationMaximization, .heldOutPseudoLabels, .softNeighbourhoodDensity],
            fit: PrototypeFit(kind: .mean, head: HeadParameters(alpha: 1, beta: 1), training: Self.training), heldOutFraction: 0.25, neighbourhoodSample: 100)
        let outcome = try selection.run(from: context.zeroShotPredictions, in: context)
        #expect(outcome.candidates.count == 2 * 3 * 2)
        let chosen = try #require(outcome.choices[.informationMaximization])
        #expect(outcome.candidates[chosen].head.alpha > 0, "α 0 is zero-shot: it predicts less confidently than the prototypes")
        #expect(try problem.accuracy(outcome.candidates[chosen].classifier, backend: backend) > zeroShotAccuracy)
        // Every candidate carries every criterion's score.
        for candidate in outcome.candidates {
            #expect(Set(candidate.scores.keys) == [.informationMaximization, .heldOutPseudoLabels, .softNeighbourhoodDensity])
        }
        // The held-out criterion reads pseudo-labels that are zero-shot's own: α 0 reproduces all of them.
        let heldOut = try #require(outcome.choices[.heldOutPseudoLabels])
        #expect(outcome.candidates[heldOut].scores[.heldOutPseudoLabels] == 1)
    }

    @Test("self-training is deterministic under a seed, improves on zero-shot, and round 1 is plain UP-Adapter",
          arguments: try AdaptationBackends.all.map { $0 as any TrainingBackend & Sendable })
    func selfTraining(backend: any TrainingBackend & Sendable) throws {
        let problem = try SyntheticPool()
        let context = try problem.context(backend: backend)
        let fit = PrototypeFit(kind: .mean, head: HeadParameters(alpha: 1, beta: 1), training: Self.training)
        let method = SelfTrainingMethod(name: "self-training", rounds: 3, rule: .poolShare(0.5), fit: fit,
                                        headChoice: .fixed(HeadParameters(alpha: 1, beta: 1)))
        let first = try method.adapt(context), second = try method.adapt(context)
        #expect(first.rounds.count == 3)
        #expect(first.adapter?.prototypes.keys == second.adapter?.prototypes.keys, "same seed, same keys")
        #expect(first.rounds[0].changedPseudoLabels == nil && first.rounds[1].changedPseudoLabels != nil)
        let single = try UPAdapterMethod(name: "one round", rule: .poolShare(0.5), fit: fit,
                                         headChoice: .fixed(HeadParameters(alpha: 1, beta: 1))).adapt(context)
        #expect(single.adapter?.prototypes.keys == first.rounds[0].classifier.prototypes.keys)
        let zeroShotAccuracy = try problem.accuracy(context.zeroShot, backend: backend)
        #expect(try problem.accuracy(first.classifier, backend: backend) > zeroShotAccuracy)
        var reseededFit = fit
        reseededFit.training?.seed = 2
        let reseeded = try SelfTrainingMethod(name: "self-training", rounds: 3, rule: .poolShare(0.5), fit: reseededFit,
                                              headChoice: .fixed(HeadParameters(alpha: 1, beta: 1))).adapt(context)
        #expect(reseeded.adapter?.prototypes.keys != first.adapter?.prototypes.keys, "another training seed shuffles differently")
    }

    @Test("the CPU and OpenCL backends reach the same self-trained classifier")
    func backendsAgree() throws {
        guard try AdaptationBackends.openCL != nil else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("CI=true but no OpenCL device") }
            return
        }
        let problem = try SyntheticPool()
        let fit = PrototypeFit(kind: .mean, head: HeadParameters(alpha: 1, beta: 1), training: Self.training)
        let method = SelfTrainingMethod(name: "self-training", rounds: 2, rule: .topK(50), fit: fit, headChoice: .fixed(HeadParameters(alpha: 1, beta: 1)))
        let keys = try AdaptationBackends.all.map { backend in try #require(try method.adapt(try problem.context(backend: backend)).adapter).prototypes.keys.values }
        let difference = zip(keys[0], keys[1]).map { abs($0 - $1) }.max() ?? 0
        #expect(difference < 1e-3, "largest key difference \(difference)")
    }

    @Test("held-out pseudo-labels skip a selection too small to hold an image out, and fail only when every one is")
    func heldOutNeedsImages() throws {
        let problem = try SyntheticPool()
        let context = try problem.context(backend: CPUBackend())
        let fit = PrototypeFit(kind: .mean, training: Self.training)
        let selection = ModelSelection(rules: [.topK(1), .topK(12)], alphas: [1], betas: [1, 3], criteria: [.heldOutPseudoLabels], fit: fit,
                                       heldOutFraction: 0.25, neighbourhoodSample: 1000)
        let outcome = try selection.run(from: context.zeroShotPredictions, in: context)
        #expect(outcome.candidates.prefix(2).allSatisfy { $0.scores[.heldOutPseudoLabels] == nil }, "one image per class: none held out")
        #expect(outcome.candidates.suffix(2).allSatisfy { $0.scores[.heldOutPseudoLabels] != nil })
        #expect(try #require(outcome.choices[.heldOutPseudoLabels]) >= 2)
        var tooSmall = selection
        tooSmall.rules = [.topK(1)]
        #expect(throws: AdaptationError.self) { try tooSmall.run(from: context.zeroShotPredictions, in: context) }
    }

    @Test("the host pass of the fused logits equals the backend's head for mean prototypes", arguments: try AdaptationBackends.all.map { $0 as any TrainingBackend & Sendable })
    func fusedLogits(backend: any TrainingBackend & Sendable) throws {
        let problem = try SyntheticPool()
        let context = try problem.context(backend: backend)
        let selection = try SelectionRule.topK(20).select(context.zeroShotPredictions, classCount: 4)
        var classifier = try PrototypeFit(kind: .mean, training: Self.training).fit(selection, in: context).classifier
        let features = try problem.pool.rows(at: Array(0..<97))
        let fast = try #require(try FusedLogits(classifier, features: features))
        for head in [HeadParameters(alpha: 0, beta: 1), HeadParameters(alpha: 3, beta: 5.5), HeadParameters(alpha: 10, beta: 0.5)] {
            classifier.head = head
            let reference = try classifier.logits(features: features, backend: backend)
            let difference = zip(try fast.logits(head).values, reference.values).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .nan
            #expect(difference < 1e-5, "α \(head.alpha), β \(head.beta): \(difference)")
        }
        let cache = try PrototypeFit(kind: .cache, training: nil).fit(selection, in: context).classifier
        #expect(try FusedLogits(cache, features: features) == nil)
    }

    @Test("supervised baselines are the only methods that use labels, and they say so")
    func labelUse() throws {
        let problem = try SyntheticPool()
        let methods: [any AdaptationMethod] = [
            ZeroShotMethod(),
            TipAdapterPseudoMethod(rule: .topK(5), headChoice: .fixed(HeadParameters(alpha: 1, beta: 1))),
            SupervisedTipAdapterMethod(shots: 2, head: HeadParameters(alpha: 1, beta: 1), training: nil, poolLabels: problem.labels),
        ]
        #expect(methods.map(\.usesLabels) == [false, false, true])
        let context = try problem.context(backend: CPUBackend())
        let supervised = try methods[2].adapt(context)
        #expect(supervised.adapter?.prototypes.keyCount == 2 * 4)
        #expect(throws: AdaptationError.self) {
            try SupervisedTipAdapterMethod(shots: 2, head: HeadParameters(alpha: 1, beta: 1), training: nil, poolLabels: [0, 1]).adapt(context)
        }
    }
}
