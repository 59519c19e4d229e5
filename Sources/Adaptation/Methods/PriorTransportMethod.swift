import Compute
import Foundation
import PrototypeTrainer

/// Prior-aware transport proxies: the project's label-free default. It keeps InMaP's strength
/// on shifted collections (transport pseudo-labels undo zero-shot CLIP's class biases) without
/// its failure on long-tailed ones (a uniform marginal hands head-class images to the tail):
///
/// 1. the pool's class marginal is estimated from its cluster structure (`ClassPriorEstimate`);
/// 2. Sinkhorn pseudo-labels whose class totals follow that estimate, sharpened to one-hot where
///    they are confident;
/// 3. class proxies in the image space fitted to them from the text classifier.
///
/// The proxies are the adapter's prototypes: `adapter.safetensors` holds them as both the class
/// weights and the prototypes with α = 0, so `predict` reproduces the row exactly. No label is read.
public struct PriorTransportMethod: AdaptationMethod {
    public struct Settings: Sendable, Equatable {
        /// EM iterations of the marginal's mixture.
        public var priorIterations: Int = 10
        /// The labels and proxies (InMaP's recipe, to the estimated marginal).
        public var transport = TransportProxySettings()

        public init() {}
    }

    public let usesLabels = false
    public var settings: Settings

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    public var name: String { "UP-Adapter, prior-aware transport proxies" }

    public func adapt(_ context: AdaptationContext) throws -> AdaptationOutcome {
        let sample = try LabelFreeSample(context, limit: settings.transport.poolSample, name: "prior_transport.pool_sample")
        let features = try DeviceMatrix(sample.features, backend: context.backend)
        let similarities = try features.timesTransposed(context.textClassifier)
        let posteriors = try ClassProbabilities.softmax(
            try HostMatrix(values: similarities.values.map { $0 * context.logitScale }, rows: similarities.rows, columns: similarities.columns))
        let prior = try ClassPriorEstimate(iterations: settings.priorIterations).estimate(features, features: sample.features, posteriors: posteriors)
        context.log("\(name): estimated class shares " + prior.map { String(format: "%.3f", $0) }.joined(separator: " "))
        let proxies = try settings.transport.proxies(features: features, similarities: similarities, marginal: prior, method: name, context: context)
        let adapter = try AdaptedClassifier(
            textClassifier: proxies, prototypes: try Prototypes(kind: .mean, keys: proxies, keyClasses: Array(0..<proxies.rows), classCount: proxies.rows),
            head: HeadParameters(alpha: 0, beta: 1), logitScale: 1 / settings.transport.proxyTemperature)
        let adaptedLabels = try ProxyClassifier(proxies: proxies, temperature: settings.transport.proxyTemperature)
            .predictions(features: sample.features, backend: context.backend).labels
        let marginal = ClassMarginalEstimate(
            shares: prior, zeroShotLabels: sample.positions.map { context.zeroShotPredictions.labels[$0] }, adaptedLabels: adaptedLabels)
        if let warning = marginal.warning { context.warn(warning) }
        let largest = prior.max() ?? 0, smallest = prior.min() ?? 0
        return AdaptationOutcome(
            classifier: adapter, adapter: adapter,
            notes: sample.notes + [
                String(format: "estimated class marginal: largest share %.3f, smallest %.3f (ratio %.1f)", largest, smallest, largest / max(smallest, 1e-12)),
            ] + settings.transport.notes(marginal: "the estimated") + [
                "the proxies are stored as the adapter's class weights and prototypes with α 0",
                String(format: "agreement of zero-shot's and these labels of the pool: Cohen's κ %.3f", marginal.agreement),
            ], classMarginal: marginal)
    }
}
