import Compute
import PrototypeTrainer

/// Training-free Tip-Adapter on pseudo-labels: a cache of the confidently pseudo-labeled
/// images with their one-hot pseudo-labels, untrained. No label is read.
public struct TipAdapterPseudoMethod: AdaptationMethod {
    public let usesLabels = false
    public var rule: SelectionRule
    public var headChoice: HeadChoice

    public init(rule: SelectionRule, headChoice: HeadChoice) {
        self.rule = rule
        self.headChoice = headChoice
    }

    public var name: String { "Tip-Adapter (pseudo-labels, training-free)" }

    public func adapt(_ context: AdaptationContext) throws -> AdaptationOutcome {
        let selection = try rule.select(context.zeroShotPredictions, classCount: context.classCount)
        let fit = PrototypeFit(kind: .cache, training: nil)
        let cache = try fit.fit(selection, in: context).classifier
        let (classifier, headNote) = try headChoice.apply(to: cache, in: context)
        return AdaptationOutcome(classifier: classifier, adapter: classifier, selection: selection,
                                 notes: ["\(rule) per class, \(selection.count) images", headNote])
    }
}

/// Supervised N-shot Tip-Adapter (and Tip-Adapter-F when `training` is set): `shots` images per
/// class of the pool with their **true** labels, given when the method is built. A label-using
/// comparison point.
public struct SupervisedTipAdapterMethod: AdaptationMethod {
    public let usesLabels = true
    public let shots: Int
    public let head: HeadParameters
    /// Tip-Adapter-F's training; nil for training-free Tip-Adapter.
    public let training: TrainingConfiguration?
    /// True labels of the pool, `[images]`.
    private let poolLabels: [Int]

    public init(shots: Int, head: HeadParameters, training: TrainingConfiguration?, poolLabels: [Int]) {
        self.shots = shots
        self.head = head
        self.training = training
        self.poolLabels = poolLabels
    }

    public var labeledShots: Int? { shots }

    public var name: String { training == nil ? "Tip-Adapter \(shots)-shot (labels)" : "Tip-Adapter-F \(shots)-shot (labels)" }

    public func adapt(_ context: AdaptationContext) throws -> AdaptationOutcome {
        guard poolLabels.count == context.pool.rows else {
            throw AdaptationError.shapeMismatch(input: "pool labels", expected: "\(context.pool.rows)", actual: "\(poolLabels.count)")
        }
        let positions = try Baselines.sampleShots(labels: poolLabels, shots: shots, seed: context.seed)
        var notes = ["\(positions.count) labeled images", "α \(head.alpha), β \(head.beta) fixed"] + (training == nil ? [] : ["keys trained"])
        if let shortfall = Self.shortfall(shots: shots, poolLabels: poolLabels, classCount: context.classCount) {
            context.warn("\(name): \(shortfall)")
            notes.append(shortfall)
        }
        let fit = PrototypeFit(kind: .cache, head: head, training: training)
        let trained = try fit.fit(positions: positions, labels: positions.map { poolLabels[$0] }, in: context)
        return AdaptationOutcome(classifier: trained.classifier, adapter: trained.classifier, notes: notes, trainingLosses: trained.epochLosses)
    }

    /// Says which classes have fewer than `shots` images in the pool, or nil when none has.
    ///
    /// Such classes use all the images they have (CoOp's few-shot sampling does the same), so
    /// the run goes on: refusing would make the standard 16-shot baseline impossible on
    /// datasets whose smallest classes hold fewer training images (Caltech101's do). But the
    /// row is then not a full N-shot result, so this is said as a warning and in the report.
    static func shortfall(shots: Int, poolLabels: [Int], classCount: Int) -> String? {
        var available = [Int](repeating: 0, count: classCount)
        for label in poolLabels where label >= 0 && label < classCount { available[label] += 1 }
        let short = available.indices.filter { available[$0] < shots }.sorted { (available[$0], $0) < (available[$1], $1) }
        guard !short.isEmpty else { return nil }
        let listed = short.prefix(5).map { "class \($0): \(available[$0])" }.joined(separator: ", ")
        let labeled = available.reduce(0) { $0 + min($1, shots) }
        return "\(short.count) of \(classCount) classes have fewer than \(shots) labeled images in the pool (\(listed)"
            + (short.count > 5 ? ", …" : "") + "); they use all they have, \(labeled) images instead of \(shots * classCount): "
            + "not a full \(shots)-shot result (baselines.supervised_shots)"
    }
}
