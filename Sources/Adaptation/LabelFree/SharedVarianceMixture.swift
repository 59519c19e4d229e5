import Compute

/// The M-step of a Gaussian mixture with one component per class and one shared diagonal
/// variance, used by TransCLIP-ZS and by the class-marginal estimate: class means of the
/// weighted features (unit length, as the features) and the variance of the features about them.
enum SharedVarianceMixture {
    /// `Σ_i x_id²` per dimension, `[dim]`: the part of the variance that does not change between steps.
    static func featureSquares(_ features: HostMatrix) -> [Double] {
        var squares = [Double](repeating: 0, count: features.columns)
        for image in 0..<features.rows {
            for d in 0..<features.columns {
                let x = Double(features.values[image * features.columns + d])
                squares[d] += x * x
            }
        }
        return squares
    }

    /// Means `[classes · dim]` and variance `[dim]` for the weights `[images, classes]` (rows
    /// summing to 1), whose column totals are `totals`; the variance is divided by `count`.
    /// `Σ_i Σ_c z_ic (x_id − μ_cd)² = Σ_i x_id² − 2 Σ_c μ_cd S_cd + Σ_c μ_cd² T_c`.
    static func maximize(
        _ device: DeviceMatrix, weights: HostMatrix, totals: [Double], squares: [Double], count: Double
    ) throws -> (means: [Double], variance: [Double]) {
        let classes = weights.columns, width = device.columns
        let sums = try device.transposedTimes(weights: weights)   // [classes, width]
        var means = [Double](repeating: 0, count: classes * width)
        for c in 0..<classes where totals[c] > 0 {
            for d in 0..<width { means[c * width + d] = Double(sums.values[c * width + d]) / totals[c] }
        }
        VisionProxyFit.normalizeRows(&means, columns: width)
        var variance = squares
        for c in 0..<classes {
            for d in 0..<width {
                let mean = means[c * width + d]
                variance[d] += -2 * mean * Double(sums.values[c * width + d]) + mean * mean * totals[c]
            }
        }
        return (means, variance.map { max($0 / max(count, 1e-30), 1e-12) })
    }
}
