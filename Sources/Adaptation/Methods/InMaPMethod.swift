import Compute
import Foundation

/// InMaP (Qian, Xu, Hu, NeurIPS 2023), reimplemented from the paper's equations: class-balanced
/// soft pseudo-labels of the pool by Sinkhorn on the zero-shot cosines, then "vision proxies" in
/// the image space fitted to them, starting at the text classifier. Test images are classified by
/// their cosine to the proxies. Fitted on the pool (at most `poolSample` images of it, drawn with
/// the seed), applied to any image. No label is read.
public struct InMaPMethod: AdaptationMethod {
    public typealias Settings = TransportProxySettings

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
        let proxies = try settings.proxies(
            features: features, similarities: try features.timesTransposed(context.textClassifier), marginal: nil, method: name, context: context)
        return AdaptationOutcome(
            classifier: ProxyClassifier(proxies: proxies, temperature: settings.proxyTemperature),
            notes: sample.notes + settings.notes(marginal: "uniform"))
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
