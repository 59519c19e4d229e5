/// Counts of confidences in equal-width bins over [0, 1].
///
/// Bin `i` holds values in `[i / bins, (i + 1) / bins)`; the last bin also holds 1. Values a
/// rounding step outside [0, 1] go to the nearest end bin; NaN values are not binned but counted
/// in `undefinedCount`, so `counts` plus `undefinedCount` always add up to the number of inputs.
public struct ConfidenceHistogram: Codable, Sendable, Equatable {
    /// The report's bin count.
    public static let standardBinCount = 20

    /// The `bins + 1` bin edges, from 0 to 1.
    public var edges: [Double]
    /// Values per bin.
    public var counts: [Int]
    /// NaN values (not in any bin).
    public var undefinedCount: Int

    /// Bins `values` into `binCount` bins (at least 1).
    public init(values: [Float], binCount: Int = ConfidenceHistogram.standardBinCount) {
        let bins = max(binCount, 1)
        edges = (0...bins).map { Double($0) / Double(bins) }
        var counts = [Int](repeating: 0, count: bins)
        var undefined = 0
        for value in values {
            guard !value.isNaN else {
                undefined += 1
                continue
            }
            let scaled = (Double(value) * Double(bins)).rounded(.down)
            let index = scaled < 0 ? 0 : (scaled >= Double(bins) ? bins - 1 : Int(scaled))
            counts[index] += 1
        }
        self.counts = counts
        undefinedCount = undefined
    }

    /// Number of binned values.
    public var total: Int { counts.reduce(0, +) }

    /// Each bin's share of the binned values (all 0 when there are none).
    public var fractions: [Double] {
        let total = self.total
        return counts.map { total > 0 ? Double($0) / Double(total) : 0 }
    }
}
