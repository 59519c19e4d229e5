import Foundation

/// UP-Adapter with K, α and β chosen by one label-free criterion from a grid. Every criterion
/// row of a run shares one `ModelSelection` run (the trainings are the expensive part) through
/// a `SharedModelSelection`.
public struct CriterionSelectedMethod: AdaptationMethod {
    public let usesLabels = false
    public let criterion: LabelFreeCriterion
    public let shared: SharedModelSelection

    public init(criterion: LabelFreeCriterion, shared: SharedModelSelection) {
        self.criterion = criterion
        self.shared = shared
    }

    public var name: String { "UP-Adapter (K, α, β by \(criterion.shortName))" }

    public func adapt(_ context: AdaptationContext) throws -> AdaptationOutcome {
        let outcome = try shared.outcome(in: context)
        guard let index = outcome.choices[criterion] else {
            throw AdaptationError.missingInput(criterion: criterion.rawValue, input: "a place in model_selection.criteria")
        }
        let chosen = outcome.candidates[index]
        return AdaptationOutcome(
            classifier: chosen.classifier, adapter: chosen.classifier, modelSelection: outcome, criterion: criterion,
            notes: ["chose \(chosen.rule), α \(chosen.head.alpha), β \(chosen.head.beta) among \(outcome.candidates.count) candidates by \(criterion.shortName)"])
    }
}

/// One model selection run shared by the criterion rows of a run: computed on first use.
/// (`@unchecked Sendable`: the stored outcome is guarded by the lock.)
public final class SharedModelSelection: @unchecked Sendable {
    public let selection: ModelSelection
    private let lock = NSLock()
    private var cached: ModelSelectionOutcome?

    public init(_ selection: ModelSelection) {
        self.selection = selection
    }

    /// The outcome, computed from the context's zero-shot predictions the first time.
    public func outcome(in context: AdaptationContext) throws -> ModelSelectionOutcome {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let outcome = try selection.run(from: context.zeroShotPredictions, in: context)
        cached = outcome
        return outcome
    }
}
