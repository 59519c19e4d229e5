import PrototypeTrainer

/// UP-Adapter in one round: the confident selection of zero-shot pseudo-labels, prototypes
/// trained on it, fused with zero-shot through the residual head. With `topK(16)` and a fixed
/// head this is the paper's recipe.
public struct UPAdapterMethod: AdaptationMethod {
    public let name: String
    public let usesLabels = false
    public var rule: SelectionRule
    public var fit: PrototypeFit
    public var headChoice: HeadChoice

    public init(name: String, rule: SelectionRule, fit: PrototypeFit, headChoice: HeadChoice) {
        self.name = name
        self.rule = rule
        self.fit = fit
        self.headChoice = headChoice
    }

    public func adapt(_ context: AdaptationContext) throws -> AdaptationOutcome {
        let selection = try rule.select(context.zeroShotPredictions, classCount: context.classCount)
        context.log("\(name): \(rule) → \(selection.count) images, training \(fit.kind.rawValue) prototypes")
        let shortfall = rule.shortfall(selection, images: context.pool.rows)
        if let shortfall { context.log("\(name): \(shortfall)") }
        let trained = try fit.fit(selection, in: context)
        let (classifier, headNote) = try headChoice.apply(to: trained.classifier, in: context)
        let round = TrainingRound(rule: rule, selection: selection, classifier: classifier, epochLosses: trained.epochLosses, changedPseudoLabels: nil)
        var criterion: LabelFreeCriterion?
        if case .chosen(let by, _, _, _) = headChoice { criterion = by }
        return AdaptationOutcome(
            classifier: classifier, adapter: classifier, rounds: [round], selection: selection, criterion: criterion,
            notes: ["\(rule) per class, \(selection.count) images"] + (shortfall.map { [$0] } ?? []) + ["\(fit.kind.rawValue) prototypes", headNote])
    }
}
