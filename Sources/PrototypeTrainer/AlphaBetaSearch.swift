import Compute
import Foundation

/// A label-free choice of the head's α and β on a held-out part of the pseudo-labelled set.
///
/// Test labels are never involved: the selected samples are split (per class, seeded) into a part
/// that builds and trains the prototypes and a held-out part; every (α, β) of the grid is scored by
/// the held-out samples' agreement with their pseudo-labels.
///
/// Criterion: highest held-out pseudo-label accuracy; ties broken by the lower mean held-out
/// cross-entropy against the pseudo-labels, then by grid order (α outer, β inner). Note that the
/// zero-shot branch alone reproduces the pseudo-labels by construction (they are its argmax), so
/// small α values tie at the top of the accuracy; the cross-entropy tie-break then prefers the
/// strongest prototype weight that keeps the held-out pseudo-labels, which is why the held-out
/// samples must take no part in building or training the prototypes.
public struct AlphaBetaSearch: Sendable, Equatable {
    public var alphas: [Float]
    public var betas: [Float]
    /// Fraction of each class's selected samples held out (at least one kept per class).
    public var heldOutFraction: Double
    public var seed: UInt64

    /// The grid and the held-out share come from the configuration (`model_selection`).
    public init(alphas: [Float], betas: [Float], heldOutFraction: Double, seed: UInt64) {
        self.alphas = alphas
        self.betas = betas
        self.heldOutFraction = heldOutFraction
        self.seed = seed
    }

    /// The score of one grid point.
    public struct GridPoint: Sendable, Equatable {
        public let head: HeadParameters
        /// Fraction of held-out samples predicted as their pseudo-label.
        public let accuracy: Double
        /// Mean cross-entropy of the fused logits against the held-out pseudo-labels.
        public let crossEntropy: Double
    }

    /// The chosen parameters and the whole grid.
    public struct Result: Sendable {
        public let best: GridPoint
        public let grid: [GridPoint]
    }

    /// Splits sample positions `0 ..< labels.count` per class into kept and held-out parts:
    /// in each class, `floor(fraction · count)` positions drawn with the seed are held out, but
    /// never all of them. Both lists are sorted.
    public func split(labels: [Int]) throws -> (kept: [Int], heldOut: [Int]) {
        guard heldOutFraction >= 0, heldOutFraction < 1 else {
            throw TrainerError.invalidArgument(name: "heldOutFraction", message: "\(heldOutFraction) must lie in [0, 1)")
        }
        var generator = SeededGenerator(seed: seed)
        var byClass: [Int: [Int]] = [:]
        for (position, label) in labels.enumerated() { byClass[label, default: []].append(position) }
        var kept = [Int](), heldOut = [Int]()
        for label in byClass.keys.sorted() {
            let positions = byClass[label] ?? []
            let order = Schedule.permutation(positions.count, using: &generator)
            let count = min(Int(heldOutFraction * Double(positions.count)), positions.count - 1)
            for (rank, index) in order.enumerated() {
                if rank < count { heldOut.append(positions[index]) } else { kept.append(positions[index]) }
            }
        }
        return (kept.sorted(), heldOut.sorted())
    }

    /// Scores every (α, β) of the grid for `classifier`'s prototypes on held-out `features`
    /// `[samples, dim]` with `pseudoLabels`, and picks the best by the criterion above.
    public func evaluate(
        _ classifier: AdaptedClassifier, features: HostMatrix, pseudoLabels: [Int], backend: any TrainingBackend, batchSize: Int = 1024
    ) throws -> Result {
        guard !alphas.isEmpty, !betas.isEmpty else {
            throw TrainerError.invalidArgument(name: "grid", message: "α and β lists must not be empty")
        }
        guard !pseudoLabels.isEmpty else { throw TrainerError.invalidArgument(name: "held-out set", message: "no samples") }
        try validateLabels(pseudoLabels, classCount: classifier.textClassifier.rows, input: "pseudoLabels")
        var grid = [GridPoint]()
        var candidate = classifier
        for alpha in alphas {
            for beta in betas {
                candidate.head = HeadParameters(alpha: alpha, beta: beta)
                let logits = try candidate.logits(features: features, backend: backend, batchSize: batchSize)
                grid.append(Self.score(logits, pseudoLabels: pseudoLabels, head: candidate.head))
            }
        }
        var best = grid[0]
        for point in grid.dropFirst()
        where point.accuracy > best.accuracy || (point.accuracy == best.accuracy && point.crossEntropy < best.crossEntropy) {
            best = point
        }
        return Result(best: best, grid: grid)
    }

    /// The whole label-free search: split the selected samples, build `kind` prototypes from the
    /// kept part (and train them with `initialHead` when `training` is given), then score the grid
    /// on the held-out part.
    ///
    /// - Parameters:
    ///   - features: `[selected, dim]`, the selected images' features.
    ///   - pseudoLabels: `[selected]`, their pseudo-labels.
    ///   - textClassifier: `[classes, dim]`.
    public func run(
        textClassifier: HostMatrix, features: HostMatrix, pseudoLabels: [Int], kind: PrototypeKind,
        initialHead: HeadParameters, training: TrainingConfiguration?, backend: any TrainingBackend, logitScale: Float
    ) throws -> Result {
        try Prototypes.requireCompatible(features: features, labels: pseudoLabels, textClassifier: textClassifier)
        let (kept, heldOut) = try split(labels: pseudoLabels)
        guard !heldOut.isEmpty else {
            throw TrainerError.invalidArgument(
                name: "heldOutFraction", message: "\(heldOutFraction) of \(pseudoLabels.count) samples holds none out")
        }
        let keptFeatures = try features.rows(at: kept), keptLabels = kept.map { pseudoLabels[$0] }
        let prototypes = try Prototypes.build(kind: kind, features: keptFeatures, labels: keptLabels, textClassifier: textClassifier)
        var classifier = try AdaptedClassifier(textClassifier: textClassifier, prototypes: prototypes, head: initialHead, logitScale: logitScale)
        if let training {
            classifier = try PrototypeTrainer(backend: backend)
                .train(classifier, features: keptFeatures, labels: keptLabels, configuration: training).classifier
        }
        return try evaluate(classifier, features: try features.rows(at: heldOut), pseudoLabels: heldOut.map { pseudoLabels[$0] }, backend: backend)
    }

    /// Accuracy and mean cross-entropy of `logits` `[samples, classes]` against `pseudoLabels`.
    static func score(_ logits: HostMatrix, pseudoLabels: [Int], head: HeadParameters) -> GridPoint {
        var correct = 0, entropy = 0.0
        for (row, label) in pseudoLabels.enumerated() {
            let line = logits.values[(row * logits.columns)..<((row + 1) * logits.columns)]
            let maximum = Double(line.max() ?? 0)
            let sum = line.reduce(0.0) { $0 + exp(Double($1) - maximum) }
            entropy += log(sum) + maximum - Double(line[line.startIndex + label])
            var best = line.startIndex
            for index in line.indices where line[index] > line[best] { best = index }
            if best - line.startIndex == label { correct += 1 }
        }
        return GridPoint(head: head, accuracy: Double(correct) / Double(pseudoLabels.count), crossEntropy: entropy / Double(pseudoLabels.count))
    }
}
