import Adaptation
import Datasets
import Foundation
import Support

/// The configuration sections of the published label-free methods (`inmap`, `transclip`, `zlap`)
/// and of the prior-aware transport default (`prior_transport`). Every default is the paper's.
extension ExperimentConfiguration {
    private typealias Keys = ConfigurationKeys.LabelFree

    /// `inmap`: InMaP's Sinkhorn labels and vision proxies.
    static func readInMaP(_ reader: ConfigurationReader) -> InMaPMethod.Settings {
        readTransportProxies(reader, Keys.inMaP)
    }

    static func inMaPNode(_ settings: InMaPMethod.Settings) -> ConfigurationNode {
        .section(transportProxyPairs(settings, Keys.inMaP))
    }

    /// `prior_transport`: the estimated class marginal, then rounds of InMaP's labels and proxies.
    static func readPriorTransport(_ reader: ConfigurationReader) -> PriorTransportMethod.Settings {
        var settings = PriorTransportMethod.Settings()
        settings.priorIterations = reader.value(Keys.priorIterations)
        settings.rounds = reader.value(Keys.priorTransportRounds)
        settings.hedgeUniform = reader.value(Keys.hedgeUniform)
        settings.keepZeroShotAbove = reader.value(Keys.keepZeroShotAbove)
        settings.transport = readTransportProxies(reader, Keys.priorTransport)
        return settings
    }

    static func priorTransportNode(_ settings: PriorTransportMethod.Settings) -> ConfigurationNode {
        .section([Keys.priorIterations.entry(settings.priorIterations), Keys.priorTransportRounds.entry(settings.rounds),
                  Keys.hedgeUniform.entry(settings.hedgeUniform),
                  Keys.keepZeroShotAbove.entry(settings.keepZeroShotAbove)]
                 + transportProxyPairs(settings.transport, Keys.priorTransport))
    }

    /// `transclip`: TransCLIP-ZS, one row per mode.
    static func readTransCLIP(_ reader: ConfigurationReader) -> (modes: [TransCLIPMethod.Mode], settings: TransCLIPMethod.Settings) {
        var settings = TransCLIPMethod.Settings()
        let modes: [TransCLIPMethod.Mode] = readModes(reader)
        settings.lambda = Float(reader.value(Keys.transCLIPLambda))
        settings.neighbours = reader.value(Keys.transCLIPNeighbours)
        settings.outerIterations = reader.value(Keys.transCLIPOuterIterations)
        settings.assignmentSteps = reader.value(Keys.transCLIPAssignmentSteps)
        settings.initialImagesPerClass = reader.value(Keys.transCLIPInitialImagesPerClass)
        settings.logitScale = reader.value(Keys.transCLIPLogitScale).map(Float.init)
        settings.poolSample = reader.value(Keys.transCLIPPoolSample)
        return (modes, settings)
    }

    static func transCLIPNode(modes: [TransCLIPMethod.Mode], _ settings: TransCLIPMethod.Settings) -> ConfigurationNode {
        .section([
            (Keys.transCLIPModes.name, .strings(modes.map(\.rawValue))),
            Keys.transCLIPLambda.entry(decimal(settings.lambda)),
            Keys.transCLIPNeighbours.entry(settings.neighbours),
            Keys.transCLIPOuterIterations.entry(settings.outerIterations),
            Keys.transCLIPAssignmentSteps.entry(settings.assignmentSteps),
            Keys.transCLIPInitialImagesPerClass.entry(settings.initialImagesPerClass),
            Keys.transCLIPLogitScale.entry(settings.logitScale.map(decimal)),
            Keys.transCLIPPoolSample.entry(settings.poolSample),
        ])
    }

    /// `zlap`: ZLaP, one row per mode.
    static func readZLaP(_ reader: ConfigurationReader) -> (modes: [ZLaPMethod.Mode], settings: ZLaPMethod.Settings) {
        var settings = ZLaPMethod.Settings()
        let modes: [ZLaPMethod.Mode] = readModes(reader)
        settings.neighbours = reader.value(Keys.zLaPNeighbours)
        settings.gamma = Float(reader.value(Keys.zLaPGamma))
        settings.alpha = Float(reader.value(Keys.zLaPAlpha))
        settings.tolerance = reader.value(Keys.zLaPTolerance)
        settings.maximumIterations = reader.value(Keys.zLaPMaximumIterations)
        settings.poolSample = reader.value(Keys.zLaPPoolSample)
        return (modes, settings)
    }

    static func zLaPNode(modes: [ZLaPMethod.Mode], _ settings: ZLaPMethod.Settings) -> ConfigurationNode {
        .section([
            (Keys.zLaPModes.name, .strings(modes.map(\.rawValue))),
            Keys.zLaPNeighbours.entry(settings.neighbours),
            Keys.zLaPGamma.entry(decimal(settings.gamma)),
            Keys.zLaPAlpha.entry(decimal(settings.alpha)),
            Keys.zLaPTolerance.entry(settings.tolerance),
            Keys.zLaPMaximumIterations.entry(settings.maximumIterations),
            Keys.zLaPPoolSample.entry(settings.poolSample),
        ])
    }

    // MARK: Shared keys

    private static func readTransportProxies(_ reader: ConfigurationReader, _ keys: Keys.TransportKeys) -> TransportProxySettings {
        var settings = TransportProxySettings()
        settings.sinkhornTemperature = Float(reader.value(keys.sinkhornTemperature))
        settings.sinkhornIterations = reader.value(keys.sinkhornIterations)
        settings.oneHotThreshold = Float(reader.value(keys.oneHotThreshold))
        settings.proxyTemperature = Float(reader.value(keys.proxyTemperature))
        settings.learningRate = Float(reader.value(keys.learningRate))
        settings.steps = reader.value(keys.steps)
        settings.poolSample = reader.value(keys.poolSample)
        return settings
    }

    private static func transportProxyPairs(_ settings: TransportProxySettings, _ keys: Keys.TransportKeys) -> [(String, ConfigurationNode)] {
        [
            keys.sinkhornTemperature.entry(decimal(settings.sinkhornTemperature)),
            keys.sinkhornIterations.entry(settings.sinkhornIterations),
            keys.oneHotThreshold.entry(decimal(settings.oneHotThreshold)),
            keys.proxyTemperature.entry(decimal(settings.proxyTemperature)),
            keys.learningRate.entry(decimal(settings.learningRate)),
            keys.steps.entry(settings.steps),
            keys.poolSample.entry(settings.poolSample),
        ]
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
