import Foundation
import Compute
import PseudoLabeling
import PrototypeTrainer

/// What every adaptation method sees: the unlabeled pool and zero-shot CLIP — never a label.
/// (Methods that use labels, the supervised baselines, receive them when they are built, so
/// label use is visible where a method is registered.)
public struct AdaptationContext: Sendable {
    /// `W`, `[classes, dim]`.
    public let textClassifier: HostMatrix
    /// CLIP's temperature `s` of the zero-shot logits.
    public let logitScale: Float
    /// Features of the unlabeled pool, `[images, dim]`, L2-normalised.
    public let pool: HostMatrix
    /// Zero-shot pseudo-labels and confidences of the pool.
    public let zeroShotPredictions: ZeroShotPredictions
    /// The pool images the label-free criteria score candidates on (positions into `pool`).
    public let scoringSample: [Int]
    /// Features of an augmented view of every `scoringSample` image, `[sample, dim]`, when a
    /// criterion needs them (view agreement).
    public let scoringSampleViews: HostMatrix?
    /// Features of the selected images averaged with augmented views, by pool position, when
    /// `prototypes.augment_views` asks for it; nil otherwise.
    public let augmentedFeatures: (@Sendable (_ positions: [Int]) throws -> HostMatrix)?
    public let backend: any TrainingBackend
    /// Seed of everything random in a method.
    public let seed: UInt64
    /// Progress lines.
    public let log: @Sendable (String) -> Void
    /// Warnings: printed even when progress is quiet (standard error, `warning: …`, by default).
    public let warn: @Sendable (String) -> Void

    public init(
        textClassifier: HostMatrix, logitScale: Float, pool: HostMatrix, zeroShotPredictions: ZeroShotPredictions,
        scoringSample: [Int], scoringSampleViews: HostMatrix? = nil,
        augmentedFeatures: (@Sendable ([Int]) throws -> HostMatrix)? = nil,
        backend: any TrainingBackend, seed: UInt64, log: @escaping @Sendable (String) -> Void = { _ in },
        warn: @escaping @Sendable (String) -> Void = AdaptationContext.standardErrorWarning
    ) throws {
        guard pool.columns == textClassifier.columns else {
            throw AdaptationError.shapeMismatch(input: "pool features", expected: "width \(textClassifier.columns)", actual: "width \(pool.columns)")
        }
        guard zeroShotPredictions.count == pool.rows else {
            throw AdaptationError.shapeMismatch(input: "zero-shot predictions", expected: "\(pool.rows) images", actual: "\(zeroShotPredictions.count)")
        }
        if let bad = scoringSample.first(where: { $0 < 0 || $0 >= pool.rows }) {
            throw AdaptationError.shapeMismatch(input: "scoring sample", expected: "positions below \(pool.rows)", actual: "\(bad)")
        }
        if let views = scoringSampleViews, views.rows != scoringSample.count || views.columns != pool.columns {
            throw AdaptationError.shapeMismatch(
                input: "scoring sample views", expected: "[\(scoringSample.count), \(pool.columns)]", actual: "[\(views.rows), \(views.columns)]")
        }
        self.textClassifier = textClassifier
        self.logitScale = logitScale
        self.pool = pool
        self.zeroShotPredictions = zeroShotPredictions
        self.scoringSample = scoringSample
        self.scoringSampleViews = scoringSampleViews
        self.augmentedFeatures = augmentedFeatures
        self.backend = backend
        self.seed = seed
        self.log = log
        self.warn = warn
    }

    /// Writes `warning: message` to standard error.
    public static let standardErrorWarning: @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
    }

    /// Number of classes.
    public var classCount: Int { textClassifier.rows }

    /// Zero-shot CLIP as a classifier.
    public var zeroShot: ZeroShotModel { ZeroShotModel(textClassifier: textClassifier, logitScale: logitScale) }

    /// The training features of the selected pool positions: plain, or averaged with augmented
    /// views when the run extracted them.
    public func trainingFeatures(_ positions: [Int]) throws -> HostMatrix {
        if let augmentedFeatures { return try augmentedFeatures(positions) }
        return try pool.rows(at: positions)
    }

    /// `count` pool positions drawn without replacement with `seed`, sorted (all when the pool
    /// is smaller).
    public static func sample(poolSize: Int, count: Int, seed: UInt64) -> [Int] {
        guard count < poolSize else { return Array(0..<poolSize) }
        var generator = SeededGenerator(seed: seed)
        var positions = Array(0..<poolSize)
        for index in 0..<count {
            positions.swapAt(index, Int.random(in: index..<poolSize, using: &generator))
        }
        return positions.prefix(count).sorted()
    }
}
