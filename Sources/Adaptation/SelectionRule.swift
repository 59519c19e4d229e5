import PseudoLabeling

/// How many pseudo-labeled images become training samples for each class.
///
/// Every rule keeps, per class, the most confident images whose pseudo-label is that class (an
/// image is used at most once); they differ in how many.
public enum SelectionRule: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// At most `K` images per class (UPL's rule; the paper uses 16).
    case topK(Int)
    /// At most `share · images / classes` per class: class-balanced, proportional to the pool.
    case poolShare(Double)
    /// Every image whose confidence is at least the threshold (not class-balanced).
    case minimumConfidence(Double)

    /// The number of images per class this rule keeps at most, for a pool of `images` and `classes`.
    public func perClassLimit(images: Int, classes: Int) -> Int {
        switch self {
        case .topK(let k): return k
        case .poolShare(let share): return max(1, Int((share * Double(images) / Double(max(classes, 1))).rounded()))
        case .minimumConfidence: return Int.max
        }
    }

    /// - Throws: `AdaptationError.invalidSetting` for K below 1, a share outside (0, 1] or a
    ///   threshold outside [0, 1).
    public func validate() throws {
        switch self {
        case .topK(let k) where k < 1:
            throw AdaptationError.invalidSetting(name: "top_k", value: String(k), reason: "must be at least 1")
        case .poolShare(let share) where !(share > 0 && share <= 1):
            throw AdaptationError.invalidSetting(name: "pool_share", value: "\(share)", reason: "must lie in (0, 1]")
        case .minimumConfidence(let threshold) where !(threshold >= 0 && threshold < 1):
            throw AdaptationError.invalidSetting(name: "min_confidence", value: "\(threshold)", reason: "must lie in [0, 1)")
        default:
            return
        }
    }

    /// The confident selection this rule makes from `predictions` of a pool.
    /// - Throws: `AdaptationError.emptySelection` when nothing is selected.
    public func select(_ predictions: ZeroShotPredictions, classCount: Int) throws -> ConfidentSelection {
        try validate()
        let selection: ConfidentSelection
        switch self {
        case .topK, .poolShare:
            selection = try ConfidentSelector.select(
                predictions, classCount: classCount, perClass: perClassLimit(images: predictions.count, classes: classCount))
        case .minimumConfidence(let threshold):
            selection = try ConfidentSelector.select(
                predictions, classCount: classCount, perClass: predictions.count, minimumConfidence: Float(threshold))
        }
        guard selection.count > 0 else { throw AdaptationError.emptySelection(rule: description) }
        return selection
    }

    /// Says which classes got fewer than the rule's per-class limit, or nil when none did (or
    /// the rule has no per-class count). Fewer is what the rule means — at most K images whose
    /// pseudo-label is the class, and a class zero-shot CLIP rarely predicts has few — so it is
    /// not an error; it is stated in the method's notes next to the selection's per-class counts.
    public func shortfall(_ selection: ConfidentSelection, images: Int) -> String? {
        guard case .topK = self else { return nil }
        let limit = perClassLimit(images: images, classes: selection.perClassCounts.count)
        let counts = selection.perClassCounts
        let short = counts.indices.filter { counts[$0] < limit }.sorted { (counts[$0], $0) < (counts[$1], $1) }
        guard !short.isEmpty else { return nil }
        let listed = short.prefix(5).map { "class \($0): \(counts[$0])" }.joined(separator: ", ")
        return "\(short.count) of \(counts.count) classes have fewer than \(limit) pseudo-labeled images to select from (\(listed)"
            + (short.count > 5 ? ", …" : "") + "); they use all they have (selection.top_k)"
    }

    /// `K 16`, `share 0.5`, `confidence ≥ 0.9`.
    public var description: String {
        switch self {
        case .topK(let k): return "K \(k)"
        case .poolShare(let share): return "share \(Self.format(share))"
        case .minimumConfidence(let threshold): return "confidence ≥ \(Self.format(threshold))"
        }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(value)
    }
}
