/// What the run learned about the pool's class sizes: the class shares a method estimated from
/// the pool, next to the shares of zero-shot's own predictions, and the agreement of the two
/// labelings of the pool behind the "systematically misread" warning.
public struct ClassMarginalRecord: Codable, Sendable, Equatable {
    /// The method that estimated the shares.
    public var method: String
    /// `[classes]` estimated shares of the unlabeled pool, summing to 1.
    public var estimatedShares: [Double]
    /// `[classes]` shares of zero-shot's pseudo-labels of the pool.
    public var zeroShotShares: [Double]
    /// Cohen's κ between zero-shot's pseudo-labels and the method's labels of the pool.
    public var agreement: Double?
    /// The warning the run printed about the collection, if any.
    public var warning: String?
    /// What the method did with the agreement, when it changed its course (e.g. kept zero-shot).
    public var decision: String?

    public init(method: String, estimatedShares: [Double], zeroShotShares: [Double], agreement: Double?, warning: String?, decision: String? = nil) {
        self.method = method
        self.estimatedShares = estimatedShares
        self.zeroShotShares = zeroShotShares
        self.agreement = agreement
        self.warning = warning
        self.decision = decision
    }
}
