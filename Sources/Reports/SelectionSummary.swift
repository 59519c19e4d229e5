/// The confident selection of a run: how many pseudo-labeled images were kept per class, how
/// many of their pseudo-labels are right (measured with the unlabeled split's labels, for the
/// report only), and the confidences of kept and rejected images.
public struct SelectionSummary: Codable, Sendable, Equatable {
    /// Most confident images kept per class (K).
    public var topK: Int
    /// Minimum confidence an image needed, if the run set one.
    public var minConfidence: Double?
    /// Number of images kept.
    public var selectedCount: Int
    /// Images kept per class (by pseudo-label).
    public var selectedPerClass: [Int]
    /// Fraction (0…1) of kept images whose pseudo-label is their true label; NaN if none kept.
    public var precision: Double
    /// Balanced accuracy (0…1) of the kept pseudo-labels: per true class among the kept images,
    /// the share whose pseudo-label is right, averaged (`ConfidentSelection.balancedAccuracy`);
    /// NaN if none kept, nil in reports written before it existed.
    public var balancedAccuracy: Double?
    /// The same per class (by pseudo-label); NaN for a class with nothing kept.
    public var perClassPrecision: [Double]
    /// Zero-shot confidences (max softmax probability) of the kept images, or a sample of them.
    public var selectedConfidences: [Float]
    /// Zero-shot confidences of the images not kept, or a sample of them.
    public var rejectedConfidences: [Float]

    public init(
        topK: Int, minConfidence: Double? = nil, selectedCount: Int, selectedPerClass: [Int],
        precision: Double, balancedAccuracy: Double? = nil, perClassPrecision: [Double], selectedConfidences: [Float],
        rejectedConfidences: [Float]
    ) {
        self.balancedAccuracy = balancedAccuracy
        self.topK = topK
        self.minConfidence = minConfidence
        self.selectedCount = selectedCount
        self.selectedPerClass = selectedPerClass
        self.precision = precision
        self.perClassPrecision = perClassPrecision
        self.selectedConfidences = selectedConfidences
        self.rejectedConfidences = rejectedConfidences
    }

    /// Histogram of `selectedConfidences` (20 bins over [0, 1]).
    public var selectedHistogram: ConfidenceHistogram { ConfidenceHistogram(values: selectedConfidences) }

    /// Histogram of `rejectedConfidences` (20 bins over [0, 1]).
    public var rejectedHistogram: ConfidenceHistogram { ConfidenceHistogram(values: rejectedConfidences) }

    private enum CodingKeys: String, CodingKey {
        case topK, minConfidence, selectedCount, selectedPerClass, precision, balancedAccuracy, perClassPrecision
        case selectedConfidences, rejectedConfidences
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        topK = try container.decode(Int.self, forKey: .topK)
        minConfidence = try container.decodeIfPresent(Double.self, forKey: .minConfidence)
        selectedCount = try container.decode(Int.self, forKey: .selectedCount)
        selectedPerClass = try container.decode([Int].self, forKey: .selectedPerClass)
        precision = try container.decodeAllowingUndefined(Double.self, forKey: .precision)
        balancedAccuracy = try container.decodeIfPresentAllowingUndefined(Double.self, forKey: .balancedAccuracy)
        perClassPrecision = try container.decodeAllowingUndefined([Double].self, forKey: .perClassPrecision)
        selectedConfidences = try container.decode([Float].self, forKey: .selectedConfidences)
        rejectedConfidences = try container.decode([Float].self, forKey: .rejectedConfidences)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(topK, forKey: .topK)
        try container.encodeIfPresent(minConfidence, forKey: .minConfidence)
        try container.encode(selectedCount, forKey: .selectedCount)
        try container.encode(selectedPerClass, forKey: .selectedPerClass)
        try container.encodeAllowingUndefined(precision, forKey: .precision)
        if let balancedAccuracy { try container.encodeAllowingUndefined(balancedAccuracy, forKey: .balancedAccuracy) }
        try container.encodeAllowingUndefined(perClassPrecision, forKey: .perClassPrecision)
        try container.encode(selectedConfidences, forKey: .selectedConfidences)
        try container.encode(rejectedConfidences, forKey: .rejectedConfidences)
    }
}
