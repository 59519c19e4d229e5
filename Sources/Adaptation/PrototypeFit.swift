import Compute
import PseudoLabeling
import PrototypeTrainer

/// Builds prototypes from a pseudo-labeled selection and trains them: the step every
/// UP-Adapter variant repeats.
public struct PrototypeFit: Sendable, Equatable {
    /// `mean` (one key per class) or `cache` (one key per selected image).
    public var kind: PrototypeKind
    /// The head the keys are trained under (the final α, β may be chosen afterwards).
    public var head: HeadParameters
    /// The trainer's settings; nil leaves the prototypes as built (training-free).
    public var training: TrainingConfiguration?

    public init(kind: PrototypeKind = .mean, head: HeadParameters = HeadParameters(alpha: 1, beta: 1), training: TrainingConfiguration?) {
        self.kind = kind
        self.head = head
        self.training = training
    }

    /// The classifier fitted to `selection` (pool positions and pseudo-labels), and the mean
    /// loss of every epoch (empty when training-free).
    public func fit(_ selection: ConfidentSelection, in context: AdaptationContext) throws -> (classifier: AdaptedClassifier, epochLosses: [Float]) {
        try fit(positions: selection.indices, labels: selection.pseudoLabels, in: context)
    }

    /// The classifier fitted to pool `positions` labelled `labels`.
    public func fit(positions: [Int], labels: [Int], in context: AdaptationContext) throws -> (classifier: AdaptedClassifier, epochLosses: [Float]) {
        let features = try context.trainingFeatures(positions)
        let prototypes = try Prototypes.build(kind: kind, features: features, labels: labels, textClassifier: context.textClassifier)
        let initial = try AdaptedClassifier(textClassifier: context.textClassifier, prototypes: prototypes, head: head, logitScale: context.logitScale)
        guard let training else { return (initial, []) }
        let result = try PrototypeTrainer(backend: context.backend).train(initial, features: features, labels: labels, configuration: training)
        return (result.classifier, result.epochLosses)
    }
}
