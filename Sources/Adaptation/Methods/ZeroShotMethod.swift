/// Zero-shot CLIP: the reference every gain is measured against.
public struct ZeroShotMethod: AdaptationMethod {
    public let name = "Zero-shot CLIP"
    public let usesLabels = false

    public init() {}

    public func adapt(_ context: AdaptationContext) throws -> AdaptationOutcome {
        AdaptationOutcome(classifier: context.zeroShot, notes: ["logit scale \(context.logitScale)"])
    }
}
