import Compute
import Foundation

/// InMaP (Qian, Xu, Hu, NeurIPS 2023), reimplemented from the paper's equations: class-balanced
/// soft pseudo-labels of the pool by Sinkhorn on the zero-shot cosines, then "vision proxies" in
/// the image space fitted to them, starting at the text classifier. Test images are classified by
/// their cosine to the proxies. Fitted on the pool (at most `poolSample` images of it, drawn with
/// the seed), applied to any image. No label is read.
public struct InMaPMethod: AdaptationMethod {
    public struct Settings: Sendable, Equatable {
        /// τ of the Sinkhorn starting point `softmax(X Wᵀ / τ)`.
        public var sinkhornTemperature: Float = 0.01
        public var sinkhornIterations: Int = 20
        /// Rows of the transport labels whose largest entry exceeds this become one-hot.
        public var oneHotThreshold: Float = 0.6
        /// τ of the proxies' softmax.
        public var proxyTemperature: Float = 0.04
        public var learningRate: Float = 10
        public var steps: Int = 2000
        /// The most pool images the proxies are fitted on (a seeded subsample beyond it).
        public var poolSample: Int = 100_000

        public init() {}
    }

    public let usesLabels = false
    public var settings: Settings

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    public var name: String { "InMaP (vision proxies, label-free)" }

    public func adapt(_ context: AdaptationContext) throws -> AdaptationOutcome {
        let sample = try LabelFreeSample(context, limit: settings.poolSample, name: "inmap.pool_sample")
        let features = try DeviceMatrix(sample.features, backend: context.backend)
        context.log("\(name): Sinkhorn labels and \(settings.steps) proxy steps on \(sample.features.rows) pool images")
        let labels = try TransportLabels.sharpened(
            try TransportLabels.sinkhorn(
                similarities: try features.timesTransposed(context.textClassifier), temperature: settings.sinkhornTemperature,
                iterations: settings.sinkhornIterations),
            threshold: settings.oneHotThreshold)
        let fit = VisionProxyFit(temperature: settings.proxyTemperature, learningRate: settings.learningRate, steps: settings.steps)
        let proxies = try TransportLabels.keepingTextWeights(
            try fit.fit(features: features, initial: context.textClassifier, targets: labels), for: TransportLabels.emptyClasses(labels),
            text: context.textClassifier, method: name, context: context)
        let classifier = ProxyClassifier(proxies: proxies, temperature: settings.proxyTemperature)
        return AdaptationOutcome(classifier: classifier, notes: sample.notes + [
            "Sinkhorn τ \(settings.sinkhornTemperature), \(settings.sinkhornIterations) iterations, uniform class marginal, one-hot above \(settings.oneHotThreshold)",
            "proxies fitted by \(settings.steps) full-batch steps, τ \(settings.proxyTemperature), learning rate \(settings.learningRate)",
        ])
    }
}

/// A classifier by cosine to class proxies in the image space: `logits = X · Pᵀ / τ`.
public struct ProxyClassifier: ProbabilisticClassifier {
    /// `[classes, dim]`, unit rows.
    public let proxies: HostMatrix
    public let temperature: Float

    public var classCount: Int { proxies.rows }

    public func logits(features: HostMatrix, backend: any TrainingBackend) throws -> HostMatrix {
        try DeviceMatrix(features, backend: backend).timesTransposed(proxies, scale: 1 / temperature)
    }
}

/// The pool images a label-free method fits on: all of them, or a seeded subsample of `limit`
/// when the pool is larger (the method's notes say so).
struct LabelFreeSample {
    /// `[images, dim]`.
    let features: HostMatrix
    /// Pool positions of the rows of `features`.
    let positions: [Int]
    let notes: [String]

    init(_ context: AdaptationContext, limit: Int, name: String) throws {
        guard limit >= 1 else { throw AdaptationError.invalidSetting(name: name, value: String(limit), reason: "must be at least 1") }
        guard context.pool.rows > 0 else { throw AdaptationError.shapeMismatch(input: "pool", expected: "at least 1 image", actual: "0") }
        if context.pool.rows <= limit {
            features = context.pool
            positions = Array(0..<context.pool.rows)
            notes = ["fitted on all \(context.pool.rows) pool images"]
        } else {
            positions = AdaptationContext.sample(poolSize: context.pool.rows, count: limit, seed: context.seed &+ 11)
            features = try context.pool.rows(at: positions)
            notes = ["fitted on a seeded subsample of \(limit) of the \(context.pool.rows) pool images (\(name))"]
        }
    }
}
