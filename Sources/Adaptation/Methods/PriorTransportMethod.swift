import Compute
import Foundation
import PrototypeTrainer

/// Prior-aware transport proxies: the project's label-free default. It keeps InMaP's strength
/// on shifted collections (transport pseudo-labels undo zero-shot CLIP's class biases) without
/// its failure on long-tailed ones (a uniform marginal hands head-class images to the tail):
///
/// 1. the pool's class marginal is estimated from its cluster structure (`ClassPriorEstimate`);
/// 2. Sinkhorn pseudo-labels whose class totals follow that estimate, sharpened to one-hot where
///    they are confident, and class proxies in the image space fitted to them from the text
///    classifier;
/// 3. when zero-shot's labels of the pool already agree with the first proxies' (Cohen's κ at or
///    above `keepZeroShotAbove`), no shift is left to adapt to: the adapter keeps zero-shot CLIP;
/// 4. otherwise `rounds − 1` more rounds: the labels are transported again from the previous
///    proxies' cosines (not the text classifier's), and the proxies refitted from the text classifier;
/// 5. with `hedgeUniform`, the same rounds once more to a uniform marginal, and the mean of the two
///    proxy sets.
///
/// The proxies are the adapter's prototypes: `adapter.safetensors` holds them as both the class
/// weights and the prototypes with α = 0, so `predict` reproduces the row exactly. No label is read.
public struct PriorTransportMethod: AdaptationMethod {
    public struct Settings: Sendable, Equatable {
        /// EM iterations of the marginal's mixture.
        public var priorIterations: Int = 10
        /// Rounds of transport labels and proxy fits; each round fits `transport.steps` steps.
        public var rounds: Int = 8
        /// Cohen's κ of zero-shot's and the first proxies' labels of the pool at or above which the
        /// adapter keeps zero-shot CLIP; nil: always adapt.
        public var keepZeroShotAbove: Double? = 0.9
        /// Also fit proxies through the same rounds to a uniform marginal (InMaP's) and average the
        /// two sets: the adapter's logits are the mean of both proxies' logits, a hedge between the
        /// estimated class sizes and equal ones. Off by default: on the development shifts it gained
        /// on the balanced ones and lost on the long tails (docs/method-study.md).
        public var hedgeUniform: Bool = false
        /// The labels and proxies of each round (InMaP's recipe, to the estimated marginal,
        /// 8 rounds × 500 steps: twice InMaP's 2000 steps).
        public var transport: TransportProxySettings = {
            var settings = TransportProxySettings()
            settings.steps = 500
            return settings
        }()

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
        var proxies = try settings.transport.proxies(features: features, similarities: similarities, marginal: prior, method: name, context: context)
        let firstLabels = try ProxyClassifier(proxies: proxies, temperature: settings.transport.proxyTemperature)
            .predictions(features: sample.features, backend: context.backend).labels
        var marginal = ClassMarginalEstimate(
            shares: prior, zeroShotLabels: sample.positions.map { context.zeroShotPredictions.labels[$0] }, adaptedLabels: firstLabels)
        if let warning = marginal.warning { context.warn(warning) }
        let keepsZeroShot = settings.keepZeroShotAbove.map { marginal.agreement >= $0 } ?? false
        if keepsZeroShot {
            marginal.decision = String(
                format: "Zero-shot's labels of the pool agree with the first transport proxies' (κ %.2f, at or above prior_transport.keep_zero_shot_above %.2f): "
                    + "the pool's clusters confirm what zero-shot reads, so no shift is left to adapt to and the adapter keeps zero-shot CLIP.",
                marginal.agreement, settings.keepZeroShotAbove ?? 0)
            context.log("\(name): " + (marginal.decision ?? ""))
        } else {
            proxies = try laterRounds(from: proxies, marginal: prior, features: features, context: context)
            if settings.hedgeUniform {
                context.log("\(name): the same rounds to a uniform class marginal")
                let uniform = try laterRounds(
                    from: try settings.transport.proxies(features: features, similarities: similarities, marginal: nil, method: name, context: context),
                    marginal: nil, features: features, context: context)
                proxies = try HostMatrix(values: zip(proxies.values, uniform.values).map { ($0 + $1) / 2 }, rows: proxies.rows, columns: proxies.columns)
            }
        }
        let weights = keepsZeroShot ? context.textClassifier : proxies
        let adapter = try AdaptedClassifier(
            textClassifier: weights, prototypes: try Prototypes(kind: .mean, keys: weights, keyClasses: Array(0..<weights.rows), classCount: weights.rows),
            head: HeadParameters(alpha: 0, beta: 1), logitScale: keepsZeroShot ? context.logitScale : 1 / settings.transport.proxyTemperature)
        return AdaptationOutcome(classifier: adapter, adapter: adapter, notes: sample.notes + notes(prior: prior, marginal: marginal), classMarginal: marginal)
    }

    /// Rounds 2…`rounds`: labels transported to `marginal` (uniform when nil) from the previous
    /// proxies' cosines, proxies refitted from the text classifier.
    private func laterRounds(from first: HostMatrix, marginal: [Double]?, features: DeviceMatrix, context: AdaptationContext) throws -> HostMatrix {
        var proxies = first
        for round in 1..<max(settings.rounds, 1) {
            context.log("\(name): round \(round + 1) of \(settings.rounds)")
            proxies = try settings.transport.proxies(
                features: features, similarities: try features.timesTransposed(proxies), marginal: marginal, method: name, context: context)
        }
        return proxies
    }

    /// The report's lines on this run.
    private func notes(prior: [Double], marginal: ClassMarginalEstimate) -> [String] {
        let largest = prior.max() ?? 0, smallest = prior.min() ?? 0
        let outcome = marginal.decision.map { [$0] }
            ?? ["\(settings.rounds) rounds: each transports the labels from the previous round's proxies and refits them from the text classifier"]
                + (settings.hedgeUniform
                    ? ["the same rounds to a uniform class marginal; the adapter's class weights are the mean of the two proxy sets (the mean of their logits)"]
                    : [])
                + ["the proxies are stored as the adapter's class weights and prototypes with α 0"]
        return [String(format: "estimated class marginal: largest share %.3f, smallest %.3f (ratio %.1f)", largest, smallest, largest / max(smallest, 1e-12))]
            + settings.transport.notes(marginal: "the estimated") + outcome
            + [String(format: "agreement of zero-shot's and the first proxies' labels of the pool: Cohen's κ %.3f", marginal.agreement)]
    }
}
