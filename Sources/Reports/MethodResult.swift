import PseudoLabeling

/// What a method is, for the report: the zero-shot reference every Δ is measured against, the
/// adapted model whose per-class gains the report ranks, or any other baseline.
public enum MethodKind: String, Codable, Sendable, CaseIterable {
    /// Zero-shot CLIP: the reference of the Δ columns.
    case zeroShot = "zero-shot"
    /// The UP-Adapter (label-free prototype adapter).
    case upAdapter = "up-adapter"
    /// Any other method (Tip-Adapter on pseudo-labels, supervised N-shot baselines, …).
    case baseline
}

/// The test-split results of one method of a run.
public struct MethodResult: Codable, Sendable, Equatable {
    /// Display name, unique within a report ("Zero-shot CLIP", "UP-Adapter",
    /// "Tip-Adapter (pseudo-labels, training-free)", "Tip-Adapter-F 8-shot (labels)").
    public var name: String
    /// The method's role in the report.
    public var kind: MethodKind
    /// Whether the method saw true labels of any image (supervised baselines).
    public var usesLabels: Bool
    /// Labeled images per class, for few-shot methods.
    public var shots: Int?
    /// Top-1 accuracy on the test split, 0…1.
    public var top1Accuracy: Double
    /// Balanced accuracy on the test split, 0…1: the mean of `perClassAccuracy` over the classes
    /// with test images (`ClassificationMetrics.balancedAccuracy`). Reports written before it
    /// existed read it back from `perClassAccuracy`.
    public var balancedAccuracy: Double
    /// Accuracy of each class (by label), 0…1; NaN for a class without test images.
    public var perClassAccuracy: [Double]
    /// Counts `[classes, classes]`: row = true class, column = predicted class. May be empty
    /// when the run did not keep it.
    public var confusionMatrix: [[Int]]
    /// Weight of the prototype (cache) branch in the fused logits, if the method has one.
    public var alpha: Double?
    /// Sharpness of the affinity, if the method has one.
    public var beta: Double?
    /// Mean training loss of each epoch, for trained methods.
    public var trainingLosses: [Double]?
    /// How the method was set up and what it chose, in words.
    public var details: [String]?
    /// Training rounds (self-training), with analysis accuracies.
    public var rounds: [RoundRecord]?

    public init(
        name: String, kind: MethodKind, usesLabels: Bool, shots: Int? = nil,
        top1Accuracy: Double, balancedAccuracy: Double? = nil, perClassAccuracy: [Double], confusionMatrix: [[Int]],
        alpha: Double? = nil, beta: Double? = nil, trainingLosses: [Double]? = nil,
        details: [String]? = nil, rounds: [RoundRecord]? = nil
    ) {
        self.details = details
        self.rounds = rounds
        self.name = name
        self.kind = kind
        self.usesLabels = usesLabels
        self.shots = shots
        self.top1Accuracy = top1Accuracy
        self.balancedAccuracy = balancedAccuracy ?? ClassificationMetrics.balancedAccuracy(perClassAccuracy: perClassAccuracy)
        self.perClassAccuracy = perClassAccuracy
        self.confusionMatrix = confusionMatrix
        self.alpha = alpha
        self.beta = beta
        self.trainingLosses = trainingLosses
    }

    /// A result whose accuracies are read off `confusion`.
    public init(
        name: String, kind: MethodKind, usesLabels: Bool, shots: Int? = nil, confusion: ConfusionMatrix,
        alpha: Double? = nil, beta: Double? = nil, trainingLosses: [Double]? = nil,
        details: [String]? = nil, rounds: [RoundRecord]? = nil
    ) {
        self.init(
            name: name, kind: kind, usesLabels: usesLabels, shots: shots,
            top1Accuracy: confusion.accuracy, balancedAccuracy: confusion.balancedAccuracy, perClassAccuracy: confusion.perClassAccuracy,
            confusionMatrix: confusion.counts, alpha: alpha, beta: beta, trainingLosses: trainingLosses,
            details: details, rounds: rounds)
    }

    /// "no", "yes", or "yes (8-shot)".
    public var labelUse: String {
        guard usesLabels else { return "no" }
        return shots.map { "yes (\($0)-shot)" } ?? "yes"
    }

    private enum CodingKeys: String, CodingKey {
        case name, kind, usesLabels, shots, top1Accuracy, balancedAccuracy, perClassAccuracy, confusionMatrix, alpha, beta, trainingLosses, details, rounds
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        kind = try container.decode(MethodKind.self, forKey: .kind)
        usesLabels = try container.decode(Bool.self, forKey: .usesLabels)
        shots = try container.decodeIfPresent(Int.self, forKey: .shots)
        top1Accuracy = try container.decodeAllowingUndefined(Double.self, forKey: .top1Accuracy)
        perClassAccuracy = try container.decodeAllowingUndefined([Double].self, forKey: .perClassAccuracy)
        balancedAccuracy = try container.decodeIfPresentAllowingUndefined(Double.self, forKey: .balancedAccuracy)
            ?? ClassificationMetrics.balancedAccuracy(perClassAccuracy: perClassAccuracy)
        confusionMatrix = try container.decode([[Int]].self, forKey: .confusionMatrix)
        alpha = try container.decodeIfPresent(Double.self, forKey: .alpha)
        beta = try container.decodeIfPresent(Double.self, forKey: .beta)
        trainingLosses = try container.decodeIfPresent([Double].self, forKey: .trainingLosses)
        details = try container.decodeIfPresent([String].self, forKey: .details)
        rounds = try container.decodeIfPresent([RoundRecord].self, forKey: .rounds)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(kind, forKey: .kind)
        try container.encode(usesLabels, forKey: .usesLabels)
        try container.encodeIfPresent(shots, forKey: .shots)
        try container.encodeAllowingUndefined(top1Accuracy, forKey: .top1Accuracy)
        try container.encodeAllowingUndefined(balancedAccuracy, forKey: .balancedAccuracy)
        try container.encodeAllowingUndefined(perClassAccuracy, forKey: .perClassAccuracy)
        try container.encode(confusionMatrix, forKey: .confusionMatrix)
        try container.encodeIfPresent(alpha, forKey: .alpha)
        try container.encodeIfPresent(beta, forKey: .beta)
        try container.encodeIfPresent(trainingLosses, forKey: .trainingLosses)
        try container.encodeIfPresent(details, forKey: .details)
        try container.encodeIfPresent(rounds, forKey: .rounds)
    }
}
