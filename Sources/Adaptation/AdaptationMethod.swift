import Compute
import PseudoLabeling
import PrototypeTrainer

/// An adaptation method: UP-Adapter, one of its variants, or a baseline. Methods are peers:
/// each builds a classifier from the context and says how; the pipeline evaluates them all the
/// same way. A new method is one type conforming to this protocol plus its registration.
public protocol AdaptationMethod: Sendable {
    /// The row name in result tables, unique within a run.
    var name: String { get }
    /// Whether the method uses true labels of any image (supervised baselines).
    var usesLabels: Bool { get }
    /// Labeled images per class, for few-shot supervised methods (nil otherwise).
    var labeledShots: Int? { get }
    /// Builds the classifier.
    /// - Throws: `AdaptationError`, `TrainerError` or `ComputeError`.
    func adapt(_ context: AdaptationContext) throws -> AdaptationOutcome
}

extension AdaptationMethod {
    public var labeledShots: Int? { nil }
}

/// One round of self-training (or the single training of a one-round method).
public struct TrainingRound: Sendable {
    /// The rule the round selected with.
    public let rule: SelectionRule
    /// The images trained on and their pseudo-labels.
    public let selection: ConfidentSelection
    /// The classifier after this round.
    public let classifier: AdaptedClassifier
    /// Mean training loss of every epoch.
    public let epochLosses: [Float]
    /// Fraction of pool pseudo-labels that changed from the previous round's (nil for round 1).
    public let changedPseudoLabels: Double?
}

/// One candidate of a label-free model selection: a selection rule, a head, its scores.
public struct ModelSelectionCandidate: Sendable {
    public let rule: SelectionRule
    /// Images the candidate's prototypes were built and trained from.
    public let selectedCount: Int
    public let head: HeadParameters
    /// Score per criterion (higher is better).
    public let scores: [LabelFreeCriterion: Double]
    /// The candidate's classifier (its trained prototypes with this head).
    public let classifier: AdaptedClassifier
}

/// A finished label-free model selection: every candidate, and which one each criterion chose.
public struct ModelSelectionOutcome: Sendable {
    public let candidates: [ModelSelectionCandidate]
    /// Index into `candidates` chosen by each criterion that was computed.
    public let choices: [LabelFreeCriterion: Int]
    /// Pool images each candidate was scored on.
    public let scoringSampleSize: Int
}

/// What a method produced.
public struct AdaptationOutcome: Sendable {
    /// The final classifier.
    public let classifier: any ProbabilisticClassifier
    /// The adapter, when the method has prototypes (written to adapter.safetensors).
    public let adapter: AdaptedClassifier?
    /// Training rounds, in order (empty for training-free methods).
    public let rounds: [TrainingRound]
    /// The images the final prototypes came from, when they are pseudo-labeled pool images.
    public let selection: ConfidentSelection?
    /// The model selection the method ran, if any.
    public let modelSelection: ModelSelectionOutcome?
    /// The criterion that made the method's choice, if any.
    public let criterion: LabelFreeCriterion?
    /// Facts for the report ("K 16 per class", "α 1, β 1 fixed", …).
    public let notes: [String]
    /// Mean loss of every epoch of the final training (all rounds' epochs, in order).
    public let trainingLosses: [Float]
    /// The class shares of the pool the method estimated, when it estimates them.
    public let classMarginal: ClassMarginalEstimate?

    public init(
        classifier: any ProbabilisticClassifier, adapter: AdaptedClassifier? = nil, rounds: [TrainingRound] = [],
        selection: ConfidentSelection? = nil, modelSelection: ModelSelectionOutcome? = nil, criterion: LabelFreeCriterion? = nil,
        notes: [String] = [], trainingLosses: [Float]? = nil, classMarginal: ClassMarginalEstimate? = nil
    ) {
        self.classMarginal = classMarginal
        self.trainingLosses = trainingLosses ?? rounds.flatMap(\.epochLosses)
        self.classifier = classifier
        self.adapter = adapter
        self.rounds = rounds
        self.selection = selection
        self.modelSelection = modelSelection
        self.criterion = criterion
        self.notes = notes
    }
}
