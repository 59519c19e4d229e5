import PseudoLabeling
import PrototypeTrainer

/// UP-Adapter with iterative self-training: round 1 is UP-Adapter on zero-shot pseudo-labels;
/// every later round re-pseudo-labels the whole pool with the previous round's adapted
/// classifier, re-selects class-balanced, rebuilds the prototypes from the new selection and
/// retrains them. The final α and β are fixed or chosen by a pool criterion. No label is read.
public struct SelfTrainingMethod: AdaptationMethod {
    public let name: String
    public let usesLabels = false
    /// Rounds of selection and training (1: plain UP-Adapter).
    public var rounds: Int
    public var rule: SelectionRule
    /// How prototypes are built and trained in every round; its head also pseudo-labels the
    /// pool between rounds.
    public var fit: PrototypeFit
    public var headChoice: HeadChoice

    public init(name: String, rounds: Int, rule: SelectionRule, fit: PrototypeFit, headChoice: HeadChoice) {
        self.name = name
        self.rounds = rounds
        self.rule = rule
        self.fit = fit
        self.headChoice = headChoice
    }

    public func adapt(_ context: AdaptationContext) throws -> AdaptationOutcome {
        guard rounds >= 1 else {
            throw AdaptationError.invalidSetting(name: "self_training.rounds", value: String(rounds), reason: "must be at least 1")
        }
        var predictions = context.zeroShotPredictions
        var trainingRounds = [TrainingRound]()
        for round in 1...rounds {
            let selection = try rule.select(predictions, classCount: context.classCount)
            context.log("\(name): round \(round)/\(rounds), \(rule) → \(selection.count) images")
            let trained = try fit.fit(selection, in: context)
            let next = try trained.classifier.predictions(features: context.pool, backend: context.backend)
            let changed = zip(next.labels, predictions.labels).filter { $0 != $1 }.count
            trainingRounds.append(TrainingRound(
                rule: rule, selection: selection, classifier: trained.classifier, epochLosses: trained.epochLosses,
                changedPseudoLabels: round == 1 ? nil : Double(changed) / Double(max(next.count, 1))))
            predictions = next
        }
        guard let last = trainingRounds.last else { throw AdaptationError.invalidSetting(name: "self_training.rounds", value: "0", reason: "no round ran") }
        let (classifier, headNote) = try headChoice.apply(to: last.classifier, in: context)
        var criterion: LabelFreeCriterion?
        if case .chosen(let by, _, _, _) = headChoice { criterion = by }
        return AdaptationOutcome(
            classifier: classifier, adapter: classifier, rounds: trainingRounds, selection: last.selection, criterion: criterion,
            notes: ["\(rounds) rounds of self-training", "\(rule) per class in every round (\(last.selection.count) images in the last)",
                    "\(fit.kind.rawValue) prototypes trained with α \(fit.head.alpha), β \(fit.head.beta)", headNote])
    }
}
