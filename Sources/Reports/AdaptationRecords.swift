/// One training round of a method, as reported: what it selected and how it scored.
/// Precision and test accuracy use labels for reporting only, after the method finished.
public struct RoundRecord: Codable, Sendable, Equatable {
    /// 1-based round number.
    public var round: Int
    /// The selection rule (`K 16`, `share 0.5`).
    public var rule: String
    /// Images trained on.
    public var selectedCount: Int
    /// Fraction (0…1) of those whose pseudo-label is their true label (reporting only).
    public var pseudoLabelPrecision: Double
    /// Fraction of the pool whose pseudo-label changed after this round (nil for round 1).
    public var changedPseudoLabels: Double?
    /// Balanced accuracy (0…1) of those pseudo-labels against the true labels: per true class
    /// among them, the share labelled right, averaged (reporting only; nil in older reports).
    public var pseudoLabelBalancedAccuracy: Double?
    /// Test top-1 accuracy of this round's classifier with the training head (analysis only).
    public var testAccuracy: Double
    /// Test balanced accuracy of the same classifier (analysis only; nil in older reports).
    public var testBalancedAccuracy: Double?

    public init(
        round: Int, rule: String, selectedCount: Int, pseudoLabelPrecision: Double, pseudoLabelBalancedAccuracy: Double? = nil,
        changedPseudoLabels: Double?, testAccuracy: Double, testBalancedAccuracy: Double? = nil
    ) {
        self.round = round
        self.rule = rule
        self.selectedCount = selectedCount
        self.pseudoLabelPrecision = pseudoLabelPrecision
        self.changedPseudoLabels = changedPseudoLabels
        self.testAccuracy = testAccuracy
        self.pseudoLabelBalancedAccuracy = pseudoLabelBalancedAccuracy
        self.testBalancedAccuracy = testBalancedAccuracy
    }
}

/// A label-free model selection as reported: every candidate's scores and which candidate each
/// criterion chose. The candidates' test accuracies were computed after the choice, for
/// analysis; no label took part in choosing (`usedTestLabels` is false).
public struct ModelSelectionRecord: Codable, Sendable, Equatable {
    /// One grid point.
    public struct Candidate: Codable, Sendable, Equatable {
        public var rule: String
        public var selectedCount: Int
        public var alpha: Double
        public var beta: Double
        /// Score by criterion name (`information_maximization`, …); higher is better.
        public var scores: [String: Double]
        /// Test top-1 accuracy (analysis only, computed after the choice).
        public var testAccuracy: Double
        /// Test balanced accuracy (analysis only; nil in older reports).
        public var testBalancedAccuracy: Double?

        public init(
            rule: String, selectedCount: Int, alpha: Double, beta: Double, scores: [String: Double], testAccuracy: Double,
            testBalancedAccuracy: Double? = nil
        ) {
            self.rule = rule
            self.selectedCount = selectedCount
            self.alpha = alpha
            self.beta = beta
            self.scores = scores
            self.testAccuracy = testAccuracy
            self.testBalancedAccuracy = testBalancedAccuracy
        }
    }

    public var candidates: [Candidate]
    /// Index into `candidates` chosen by each criterion, by criterion name.
    public var choices: [String: Int]
    /// Pool images every candidate was scored on.
    public var scoringSampleSize: Int
    /// Whether any test label took part in the choice; always false for a label-free run.
    public var usedTestLabels: Bool

    public init(candidates: [Candidate], choices: [String: Int], scoringSampleSize: Int, usedTestLabels: Bool = false) {
        self.candidates = candidates
        self.choices = choices
        self.scoringSampleSize = scoringSampleSize
        self.usedTestLabels = usedTestLabels
    }

    /// The candidate with the best test accuracy: the oracle no label-free user can reach.
    public var oracle: Candidate? { candidates.max { $0.testAccuracy < $1.testAccuracy } }
}
