import PrototypeTrainer

/// How a method sets the final α and β of its head.
public enum HeadChoice: Sendable, Equatable {
    /// Given values (the paper's setting).
    case fixed(HeadParameters)
    /// The grid point a pool criterion scores best for the trained prototypes (no label read).
    case chosen(by: LabelFreeCriterion, alphas: [Double], betas: [Double], neighbourhoodSample: Int)

    /// `classifier` with its final head, and the scores of the grid when one was searched.
    func apply(to classifier: AdaptedClassifier, in context: AdaptationContext) throws -> (classifier: AdaptedClassifier, note: String) {
        switch self {
        case .fixed(let head):
            var result = classifier
            result.head = head
            return (result, "α \(head.alpha), β \(head.beta) fixed")
        case .chosen(let criterion, let alphas, let betas, let neighbourhoodSample):
            guard criterion.scoresPool else {
                throw AdaptationError.invalidSetting(
                    name: "criterion", value: criterion.rawValue, reason: "choosing α and β after training needs a criterion scored on the pool")
            }
            let heads = ModelSelection.heads(alphas: alphas, betas: betas)
            guard !heads.isEmpty else { throw AdaptationError.invalidSetting(name: "alpha_grid/beta_grid", value: "[]", reason: "must not be empty") }
            let scores = try ModelSelection.score(classifier, heads: heads, criteria: [criterion], in: context, neighbourhoodSample: neighbourhoodSample)
            var best = 0
            for index in heads.indices.dropFirst() where (scores[index][criterion] ?? -.infinity) > (scores[best][criterion] ?? -.infinity) {
                best = index
            }
            var result = classifier
            result.head = heads[best]
            return (result, "α \(heads[best].alpha), β \(heads[best].beta) chosen by \(criterion.shortName)")
        }
    }
}
