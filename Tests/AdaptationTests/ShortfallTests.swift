import Adaptation
import Compute
import PseudoLabeling
import Foundation
import PrototypeTrainer
import Testing

/// Issue #12: more supervised shots (or a larger K) than a class holds is never silently
/// fewer: a supervised baseline warns and says it in its notes (the report), naming the
/// classes; a pseudo-label selection says it in its notes.
@Suite struct ShortfallTests {
    /// Collects warnings.
    final class Warnings: @unchecked Sendable {
        private let lock = NSLock()
        private var messages: [String] = []
        func append(_ message: String) { lock.withLock { messages.append(message) } }
        var all: [String] { lock.withLock { messages } }
    }

    @Test("A supervised baseline with more shots than a class holds warns, naming the class, and notes it")
    func supervisedShots() throws {
        let problem = try SyntheticPool(classes: 4, perClass: 20)
        // Class 2 keeps 3 of its 20 images in the labeled pool, class 3 none: the others are
        // relabelled as class 0, so the pool size is unchanged.
        var kept = [Int: Int]()
        let labels = problem.labels.map { label -> Int in
            let limit = label == 2 ? 3 : (label == 3 ? 0 : Int.max)
            kept[label, default: 0] += 1
            return kept[label]! > limit ? 0 : label
        }
        let warnings = Warnings()
        let base = try problem.context(backend: CPUBackend())
        let context = try AdaptationContext(
            textClassifier: base.textClassifier, logitScale: base.logitScale, pool: base.pool, zeroShotPredictions: base.zeroShotPredictions,
            scoringSample: base.scoringSample, backend: base.backend, seed: base.seed, warn: { warnings.append($0) })
        let method = SupervisedTipAdapterMethod(shots: 4, head: HeadParameters(alpha: 1, beta: 1), training: nil, poolLabels: labels)
        let outcome = try method.adapt(context)
        #expect(warnings.all.count == 1)
        let warning = warnings.all.first ?? ""
        #expect(warning.contains("Tip-Adapter 4-shot"), "\(warning)")
        #expect(warning.contains("2 of 4 classes have fewer than 4 labeled images"), "\(warning)")
        #expect(warning.contains("class 3: 0, class 2: 3"), "\(warning)")
        #expect(warning.contains("11 images instead of 16") && warning.contains("baselines.supervised_shots"), "\(warning)")
        #expect(outcome.notes.contains { $0.contains("fewer than 4 labeled images") })

        let enough = SupervisedTipAdapterMethod(shots: 3, head: HeadParameters(alpha: 1, beta: 1), training: nil, poolLabels: problem.labels)
        _ = try enough.adapt(context)
        #expect(warnings.all.count == 1, "a warning without a shortfall: \(warnings.all)")
    }

    @Test("A top-K selection notes the classes that had fewer than K images to select from")
    func topK() throws {
        let predictions = try ZeroShotPredictions(labels: [0, 0, 0, 1, 2, 2, 2, 2], confidences: [0.9, 0.5, 0.7, 0.8, 0.6, 0.99, 0.3, 0.4])
        let selection = try SelectionRule.topK(3).select(predictions, classCount: 4)
        let note = SelectionRule.topK(3).shortfall(selection, images: 8)
        #expect(note == "2 of 4 classes have fewer than 3 pseudo-labeled images to select from (class 3: 0, class 1: 1); they use all they have (selection.top_k)")
        #expect(SelectionRule.topK(1).shortfall(try SelectionRule.topK(1).select(predictions, classCount: 3), images: 8) == nil)
        #expect(SelectionRule.minimumConfidence(0.5).shortfall(selection, images: 8) == nil)
    }
}
