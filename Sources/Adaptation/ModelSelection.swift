import Compute
import PseudoLabeling
import Foundation
import PrototypeTrainer

/// Label-free model selection: for every selection rule (K) the prototypes are built and
/// trained once, then every (α, β) of the grid is scored by each criterion on the unlabeled
/// pool; each criterion chooses its best candidate. No label is read.
public struct ModelSelection: Sendable, Equatable {
    /// The candidate selection rules (values of K).
    public var rules: [SelectionRule]
    public var alphas: [Double]
    public var betas: [Double]
    /// The criteria to compute; each makes its own choice.
    public var criteria: [LabelFreeCriterion]
    /// How prototypes are built and trained for every rule.
    public var fit: PrototypeFit
    /// Share of each class's selected images held out by `held_out_pseudo_labels`.
    public var heldOutFraction: Double
    /// Images of the scoring sample used by soft neighbourhood density (quadratic cost).
    public var neighbourhoodSample: Int

    public init(
        rules: [SelectionRule], alphas: [Double], betas: [Double], criteria: [LabelFreeCriterion], fit: PrototypeFit,
        heldOutFraction: Double, neighbourhoodSample: Int
    ) {
        self.rules = rules
        self.alphas = alphas
        self.betas = betas
        self.criteria = criteria
        self.fit = fit
        self.heldOutFraction = heldOutFraction
        self.neighbourhoodSample = neighbourhoodSample
    }

    /// The grid's heads, α outer, β inner.
    public var heads: [HeadParameters] { Self.heads(alphas: alphas, betas: betas) }

    /// Every (α, β) of a grid, α outer, β inner (the order candidates are listed and ties broken in).
    public static func heads(alphas: [Double], betas: [Double]) -> [HeadParameters] {
        alphas.flatMap { alpha in betas.map { beta in HeadParameters(alpha: Float(alpha), beta: Float(beta)) } }
    }

    /// - Throws: `AdaptationError.invalidSetting` for an empty grid or list of criteria.
    public func validate() throws {
        guard !rules.isEmpty else { throw AdaptationError.invalidSetting(name: "model_selection rules", value: "[]", reason: "give at least one K") }
        guard !alphas.isEmpty, !betas.isEmpty else {
            throw AdaptationError.invalidSetting(name: "model_selection.alpha_grid/beta_grid", value: "[]", reason: "must not be empty")
        }
        guard !criteria.isEmpty else { throw AdaptationError.invalidSetting(name: "model_selection.criteria", value: "[]", reason: "name at least one") }
        for rule in rules { try rule.validate() }
    }

    /// Runs the selection from `predictions` of the pool (zero-shot's, or an adapted classifier's).
    public func run(from predictions: ZeroShotPredictions, in context: AdaptationContext) throws -> ModelSelectionOutcome {
        try validate()
        var candidates = [ModelSelectionCandidate]()
        var heldOutCrossEntropy = [Double]()
        for rule in rules {
            let selection = try rule.select(predictions, classCount: context.classCount)
            context.log("model selection: \(rule) → \(selection.count) images, training")
            let trained = try fit.fit(selection, in: context).classifier
            let poolScores = try Self.score(trained, heads: heads, criteria: criteria.filter(\.scoresPool), in: context,
                                            neighbourhoodSample: neighbourhoodSample)
            var heldOut: [(accuracy: Double, crossEntropy: Double)]?
            if criteria.contains(.heldOutPseudoLabels) {
                heldOut = try heldOutScores(selection, in: context)
                if heldOut == nil { context.log("model selection: \(rule) holds out no image; held-out pseudo-labels do not score it") }
            }
            for (index, head) in heads.enumerated() {
                var scores = poolScores[index]
                if let heldOut { scores[.heldOutPseudoLabels] = heldOut[index].accuracy }
                heldOutCrossEntropy.append(heldOut?[index].crossEntropy ?? .infinity)
                var classifier = trained
                classifier.head = head
                candidates.append(ModelSelectionCandidate(rule: rule, selectedCount: selection.count, head: head, scores: scores, classifier: classifier))
            }
        }
        var choices = [LabelFreeCriterion: Int]()
        for criterion in criteria {
            var best: Int?
            for index in candidates.indices {
                guard let score = candidates[index].scores[criterion] else { continue }
                guard let current = best, let top = candidates[current].scores[criterion] else { best = index; continue }
                if score > top || (criterion == .heldOutPseudoLabels && score == top && heldOutCrossEntropy[index] < heldOutCrossEntropy[current]) {
                    best = index
                }
            }
            guard let best else {
                throw AdaptationError.invalidSetting(name: "model_selection", value: criterion.rawValue,
                                                     reason: "no candidate could be scored by this criterion (every selection is too small to hold images out)")
            }
            choices[criterion] = best
        }
        return ModelSelectionOutcome(candidates: candidates, choices: choices, scoringSampleSize: context.scoringSample.count)
    }

    /// Held-out pseudo-label accuracy and cross-entropy of every head: prototypes built and
    /// trained on the kept part of `selection`, scored on the held-out part; nil when the
    /// selection is too small to hold any image out.
    func heldOutScores(_ selection: ConfidentSelection, in context: AdaptationContext) throws -> [(accuracy: Double, crossEntropy: Double)]? {
        let search = AlphaBetaSearch(alphas: alphas.map(Float.init), betas: betas.map(Float.init), heldOutFraction: heldOutFraction, seed: context.seed)
        let (kept, heldOut) = try search.split(labels: selection.pseudoLabels)
        guard !heldOut.isEmpty else { return nil }
        let trained = try fit.fit(positions: kept.map { selection.indices[$0] }, labels: kept.map { selection.pseudoLabels[$0] }, in: context).classifier
        let features = try context.pool.rows(at: heldOut.map { selection.indices[$0] })
        let result = try search.evaluate(trained, features: features, pseudoLabels: heldOut.map { selection.pseudoLabels[$0] }, backend: context.backend)
        return result.grid.map { ($0.accuracy, $0.crossEntropy) }
    }

    /// The pool criteria's scores of `classifier` under every head, on the context's scoring sample.
    public static func score(
        _ classifier: AdaptedClassifier, heads: [HeadParameters], criteria: [LabelFreeCriterion], in context: AdaptationContext,
        neighbourhoodSample: Int
    ) throws -> [[LabelFreeCriterion: Double]] {
        guard !criteria.isEmpty else { return Array(repeating: [:], count: heads.count) }
        let sample = try context.pool.rows(at: context.scoringSample)
        let stride = max(1, context.scoringSample.count / max(neighbourhoodSample, 1))
        let neighbourhoodRows = Array(Swift.stride(from: 0, to: context.scoringSample.count, by: stride).prefix(neighbourhoodSample))
        if criteria.contains(.viewAgreement), context.scoringSampleViews == nil {
            throw AdaptationError.missingInput(criterion: LabelFreeCriterion.viewAgreement.rawValue, input: "augmented views of the scoring sample")
        }
        var results = [[LabelFreeCriterion: Double]]()
        var candidate = classifier
        // Mean prototypes: the affinity and zero-shot logits are computed once, each head is a
        // cheap host pass. Caches (many keys) go through the backend per head.
        let fastSample = try FusedLogits(classifier, features: sample)
        let fastViews = try context.scoringSampleViews.flatMap { try FusedLogits(classifier, features: $0) }
        for head in heads {
            candidate.head = head
            let probabilities = try fastSample.map { try ClassProbabilities.softmax($0.logits(head)) }
                ?? candidate.probabilities(features: sample, backend: context.backend)
            let viewProbabilities: () throws -> HostMatrix? = {
                guard let views = context.scoringSampleViews else { return nil }
                return try fastViews.map { try ClassProbabilities.softmax($0.logits(head)) }
                    ?? candidate.probabilities(features: views, backend: context.backend)
            }
            var scores = [LabelFreeCriterion: Double]()
            for criterion in criteria {
                switch criterion {
                case .informationMaximization:
                    scores[criterion] = CriterionScores.informationMaximization(probabilities)
                case .softNeighbourhoodDensity:
                    scores[criterion] = CriterionScores.softNeighbourhoodDensity(try probabilities.rows(at: neighbourhoodRows))
                case .viewAgreement:
                    if let views = try viewProbabilities() {
                        scores[criterion] = CriterionScores.viewAgreement(probabilities, views)
                    }
                case .heldOutPseudoLabels:
                    break
                }
            }
            for (criterion, score) in scores where !score.isFinite {
                throw AdaptationError.nonFinite(what: "\(criterion.rawValue) score of α \(head.alpha), β \(head.beta)")
            }
            results.append(scores)
        }
        return results
    }
}

/// The fused logits of mean prototypes for any head, from the zero-shot logits and the
/// affinity computed once on the host: `logits = s · F · Wᵀ + α · exp(−β (1 − F · Pᵀ))`.
public struct FusedLogits: Sendable {
    let zeroShot: [Float]
    let affinity: [Float]
    let rows: Int
    let classes: Int

    /// nil for cache prototypes (their key count makes the host pass too slow).
    public init?(_ classifier: AdaptedClassifier, features: HostMatrix) throws {
        guard classifier.prototypes.kind == .mean else { return nil }
        let width = features.columns, classes = classifier.textClassifier.rows
        guard width == classifier.textClassifier.columns else {
            throw AdaptationError.shapeMismatch(input: "features", expected: "width \(classifier.textClassifier.columns)", actual: "width \(width)")
        }
        rows = features.rows
        self.classes = classes
        var zeroShot = [Float](repeating: 0, count: rows * classes), affinity = zeroShot
        let text = classifier.textClassifier.values, keys = classifier.prototypes.keys.values, values = features.values
        for row in 0..<rows {
            for column in 0..<classes {
                var textDot: Float = 0, keyDot: Float = 0
                for index in 0..<width {
                    let value = values[row * width + index]
                    textDot += value * text[column * width + index]
                    keyDot += value * keys[column * width + index]
                }
                zeroShot[row * classes + column] = classifier.logitScale * textDot
                affinity[row * classes + column] = keyDot
            }
        }
        self.zeroShot = zeroShot
        self.affinity = affinity
    }

    /// The fused logits under `head`, `[rows, classes]`.
    public func logits(_ head: HeadParameters) throws -> HostMatrix {
        let values = (0..<zeroShot.count).map { index in
            zeroShot[index] + head.alpha * Foundation.exp(-head.beta * (1 - affinity[index]))
        }
        return try HostMatrix(values: values, rows: rows, columns: classes)
    }
}
