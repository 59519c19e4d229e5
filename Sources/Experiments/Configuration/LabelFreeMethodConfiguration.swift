import Adaptation
import Datasets
import Foundation
import Support

/// The configuration sections of the published label-free methods (`inmap`, `transclip`, `zlap`)
/// and of the prior-aware transport default (`prior_transport`). Every default is the paper's.
extension ExperimentConfiguration {
    /// `inmap`: InMaP's Sinkhorn labels and vision proxies.
    static func readInMaP(_ reader: ConfigurationReader) -> InMaPMethod.Settings {
        readTransportProxies(reader)
    }

    static func inMaPNode(_ settings: InMaPMethod.Settings) -> ConfigurationNode {
        .section(transportProxyPairs(settings))
    }

    /// `prior_transport`: the estimated class marginal, then InMaP's labels and proxies.
    static func readPriorTransport(_ reader: ConfigurationReader) -> PriorTransportMethod.Settings {
        var settings = PriorTransportMethod.Settings()
        settings.priorIterations = reader.int("prior_iterations", default: settings.priorIterations, minimum: 0, maximum: 1000)
        settings.transport = readTransportProxies(reader)
        return settings
    }

    static func priorTransportNode(_ settings: PriorTransportMethod.Settings) -> ConfigurationNode {
        .section([("prior_iterations", .int(settings.priorIterations))] + transportProxyPairs(settings.transport))
    }

    /// `transclip`: TransCLIP-ZS, one row per mode.
    static func readTransCLIP(_ reader: ConfigurationReader) -> (modes: [TransCLIPMethod.Mode], settings: TransCLIPMethod.Settings) {
        var settings = TransCLIPMethod.Settings()
        let modes: [TransCLIPMethod.Mode] = readModes(reader)
        let lambda = reader.double("lambda", default: Double(settings.lambda))
        reader.require("lambda", lambda, in: 0...100)
        settings.lambda = Float(lambda)
        settings.neighbours = reader.int("neighbours", default: settings.neighbours, minimum: 1, maximum: 1000)
        settings.outerIterations = reader.int("outer_iterations", default: settings.outerIterations, minimum: 0, maximum: 1000)
        settings.assignmentSteps = reader.int("assignment_steps", default: settings.assignmentSteps, minimum: 1, maximum: 1000)
        settings.initialImagesPerClass = reader.int("initial_images_per_class", default: settings.initialImagesPerClass, minimum: 1, maximum: 1_000_000)
        if let scale = reader.double("logit_scale") {
            reader.require("logit_scale", scale, in: 0...1000, open: true)
            settings.logitScale = Float(scale)
        }
        settings.poolSample = readPoolSample(reader, default: settings.poolSample)
        return (modes, settings)
    }

    static func transCLIPNode(modes: [TransCLIPMethod.Mode], _ settings: TransCLIPMethod.Settings) -> ConfigurationNode {
        .section([
            ("modes", .strings(modes.map(\.rawValue))),
            ("lambda", .double(decimal(settings.lambda))),
            ("neighbours", .int(settings.neighbours)),
            ("outer_iterations", .int(settings.outerIterations)),
            ("assignment_steps", .int(settings.assignmentSteps)),
            ("initial_images_per_class", .int(settings.initialImagesPerClass)),
            ("logit_scale", .double(settings.logitScale.map(decimal))),
            ("pool_sample", .int(settings.poolSample)),
        ])
    }

    /// `zlap`: ZLaP, one row per mode.
    static func readZLaP(_ reader: ConfigurationReader) -> (modes: [ZLaPMethod.Mode], settings: ZLaPMethod.Settings) {
        var settings = ZLaPMethod.Settings()
        let modes: [ZLaPMethod.Mode] = readModes(reader)
        settings.neighbours = reader.int("neighbours", default: settings.neighbours, minimum: 1, maximum: 1000)
        let gamma = reader.double("gamma", default: Double(settings.gamma))
        reader.require("gamma", gamma, in: 0...100, open: true)
        settings.gamma = Float(gamma)
        let alpha = reader.double("alpha", default: Double(settings.alpha))
        if !(alpha > 0 && alpha < 1) { reader.invalid("alpha", value: formatNumber(alpha), reason: "must be in (0, 1): the propagation converges only below 1") }
        settings.alpha = Float(alpha)
        settings.tolerance = reader.double("tolerance", default: settings.tolerance)
        reader.require("tolerance", settings.tolerance, in: 0...1, open: true)
        settings.maximumIterations = reader.int("maximum_iterations", default: settings.maximumIterations, minimum: 1, maximum: 100_000)
        settings.poolSample = readPoolSample(reader, default: settings.poolSample)
        return (modes, settings)
    }

    static func zLaPNode(modes: [ZLaPMethod.Mode], _ settings: ZLaPMethod.Settings) -> ConfigurationNode {
        .section([
            ("modes", .strings(modes.map(\.rawValue))),
            ("neighbours", .int(settings.neighbours)),
            ("gamma", .double(decimal(settings.gamma))),
            ("alpha", .double(decimal(settings.alpha))),
            ("tolerance", .double(settings.tolerance)),
            ("maximum_iterations", .int(settings.maximumIterations)),
            ("pool_sample", .int(settings.poolSample)),
        ])
    }

    // MARK: Shared keys

    private static func readTransportProxies(_ reader: ConfigurationReader) -> TransportProxySettings {
        var settings = TransportProxySettings()
        let temperature = reader.double("sinkhorn_temperature", default: Double(settings.sinkhornTemperature))
        reader.require("sinkhorn_temperature", temperature, in: 0...10, open: true)
        settings.sinkhornTemperature = Float(temperature)
        settings.sinkhornIterations = reader.int("sinkhorn_iterations", default: settings.sinkhornIterations, minimum: 0, maximum: 10_000)
        let threshold = reader.double("one_hot_threshold", default: Double(settings.oneHotThreshold))
        reader.require("one_hot_threshold", threshold, in: 0...1)
        settings.oneHotThreshold = Float(threshold)
        let proxyTemperature = reader.double("proxy_temperature", default: Double(settings.proxyTemperature))
        reader.require("proxy_temperature", proxyTemperature, in: 0...10, open: true)
        settings.proxyTemperature = Float(proxyTemperature)
        let rate = reader.double("learning_rate", default: Double(settings.learningRate))
        reader.require("learning_rate", rate, in: 0...1000, open: true)
        settings.learningRate = Float(rate)
        settings.steps = reader.int("steps", default: settings.steps, minimum: 0, maximum: 1_000_000)
        settings.poolSample = readPoolSample(reader, default: settings.poolSample)
        return settings
    }

    private static func transportProxyPairs(_ settings: TransportProxySettings) -> [(String, ConfigurationNode)] {
        [
            ("sinkhorn_temperature", .double(decimal(settings.sinkhornTemperature))),
            ("sinkhorn_iterations", .int(settings.sinkhornIterations)),
            ("one_hot_threshold", .double(decimal(settings.oneHotThreshold))),
            ("proxy_temperature", .double(decimal(settings.proxyTemperature))),
            ("learning_rate", .double(decimal(settings.learningRate))),
            ("steps", .int(settings.steps)),
            ("pool_sample", .int(settings.poolSample)),
        ]
    }

    private static func readPoolSample(_ reader: ConfigurationReader, default fallback: Int) -> Int {
        reader.int("pool_sample", default: fallback, minimum: 1, maximum: 100_000_000)
    }

    private static func readModes<Mode: RawRepresentable & CaseIterable>(_ reader: ConfigurationReader) -> [Mode] where Mode.RawValue == String {
        guard let names = reader.strings("modes") else { return Array(Mode.allCases) }
        var modes = [Mode]()
        for name in names {
            guard let mode = Mode(rawValue: name) else {
                reader.invalid("modes", value: name, reason: "expected " + Mode.allCases.map(\.rawValue).joined(separator: " or "))
                continue
            }
            if !modes.contains(where: { $0.rawValue == name }) { modes.append(mode) }
        }
        if modes.isEmpty, !names.isEmpty { return Array(Mode.allCases) }
        if names.isEmpty { reader.invalid("modes", value: "[]", reason: "name at least one mode") }
        return modes
    }

    /// The shortest decimal of a single-precision value, so 0.04 reads back as 0.04.
    private static func decimal(_ value: Float) -> Double { Double(value.description) ?? Double(value) }
}
