import Compute

/// The settings of transport pseudo-labels and the vision proxies fitted to them: InMaP's recipe,
/// shared by `InMaPMethod` (uniform class marginal) and `PriorTransportMethod` (estimated one).
public struct TransportProxySettings: Sendable, Equatable {
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

    /// Sinkhorn labels of `features` to `marginal` (uniform when nil), sharpened, and the proxies
    /// fitted to them from the text classifier. A class the labels give nothing keeps its text
    /// weights, with a warning naming it.
    ///
    /// - Parameter similarities: `[images, classes]` cosines of `features` and the text classifier.
    func proxies(
        features: DeviceMatrix, similarities: HostMatrix, marginal: [Double]?, method: String, context: AdaptationContext
    ) throws -> HostMatrix {
        let labels = try TransportLabels.sharpened(
            try TransportLabels.sinkhorn(similarities: similarities, temperature: sinkhornTemperature, iterations: sinkhornIterations, marginal: marginal),
            threshold: oneHotThreshold)
        let fit = VisionProxyFit(temperature: proxyTemperature, learningRate: learningRate, steps: steps)
        return try TransportLabels.keepingTextWeights(
            try fit.fit(features: features, initial: context.textClassifier, targets: labels), for: TransportLabels.emptyClasses(labels),
            text: context.textClassifier, method: method, context: context)
    }

    /// The report's lines on these settings.
    func notes(marginal: String) -> [String] {
        ["Sinkhorn τ \(sinkhornTemperature), \(sinkhornIterations) iterations, \(marginal) class marginal, one-hot above \(oneHotThreshold)",
         "proxies fitted by \(steps) full-batch steps, τ \(proxyTemperature), learning rate \(learningRate)"]
    }
}
