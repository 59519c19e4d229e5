import Compute
import Foundation

/// The class marginal of an unlabeled pool, estimated from the pool's own cluster structure: a
/// Gaussian mixture with one component per class, one shared diagonal variance and free mixing
/// weights, started at the zero-shot posteriors and run for a few EM iterations. The weights it
/// converges to are the estimate.
///
/// Why not EM on the zero-shot posteriors alone (Saerens et al. 2002)? Zero-shot CLIP's biases
/// (a class it over-predicts under a shift) look exactly like a skewed marginal from the
/// posteriors alone; on the balanced development shifts that estimate put 0 on three of ten
/// classes. The mixture ties each class's weight to a region of the feature space, so a class
/// that only borrows images from other clusters loses them. docs/method-study.md has the figures.
struct ClassPriorEstimate: Sendable, Equatable {
    /// EM iterations of the mixture.
    var iterations: Int = 10
    /// No class's share falls below this (a class keeps a foothold for the transport).
    var floor: Double = 1e-3

    /// `[classes]` shares summing to 1.
    ///
    /// - Parameters:
    ///   - features: the pool `[images, dim]` on the device, and on the host.
    ///   - posteriors: `[images, classes]`, the zero-shot probabilities that start the mixture.
    func estimate(_ device: DeviceMatrix, features: HostMatrix, posteriors: HostMatrix) throws -> [Double] {
        let images = features.rows, classes = posteriors.columns, width = features.columns
        guard images > 0, classes > 0 else { return [Double](repeating: 1 / Double(max(classes, 1)), count: classes) }
        var responsibilities = posteriors
        let squares = SharedVarianceMixture.featureSquares(features)
        var shares = columnMeans(responsibilities)
        for _ in 0..<iterations {
            // M-step: means, the shared diagonal variance.
            let (means, variance) = try SharedVarianceMixture.maximize(
                device, weights: responsibilities, totals: shares.map { $0 * Double(images) }, squares: squares, count: Double(images))
            // E-step: log N(x | μ_c, σ²) + log π_c, up to a per-image constant.
            var scaledMeans = [Float](repeating: 0, count: classes * width)
            var offsets = [Double](repeating: 0, count: classes)
            for c in 0..<classes {
                var meanTerm = 0.0
                for d in 0..<width {
                    scaledMeans[c * width + d] = Float(means[c * width + d] / variance[d])
                    meanTerm += means[c * width + d] * means[c * width + d] / variance[d]
                }
                offsets[c] = -0.5 * meanTerm + Foundation.log(max(shares[c], 1e-300))
            }
            let cross = try device.timesTransposed(try HostMatrix(values: scaledMeans, rows: classes, columns: width))
            var values = [Float](repeating: 0, count: images * classes)
            for image in 0..<images {
                var maximum = -Double.infinity
                for c in 0..<classes { maximum = max(maximum, Double(cross.values[image * classes + c]) + offsets[c]) }
                var sum = 0.0
                var row = [Double](repeating: 0, count: classes)
                for c in 0..<classes {
                    row[c] = Foundation.exp(Double(cross.values[image * classes + c]) + offsets[c] - maximum)
                    sum += row[c]
                }
                for c in 0..<classes { values[image * classes + c] = Float(row[c] / sum) }
            }
            responsibilities = try HostMatrix(values: values, rows: images, columns: classes)
            shares = columnMeans(responsibilities)
        }
        let floored = shares.map { max($0, floor) }
        let total = floored.reduce(0, +)
        return floored.map { $0 / total }
    }

    private func columnMeans(_ matrix: HostMatrix) -> [Double] {
        var sums = [Double](repeating: 0, count: matrix.columns)
        for index in matrix.values.indices { sums[index % matrix.columns] += Double(matrix.values[index]) }
        return sums.map { $0 / Double(max(matrix.rows, 1)) }
    }
}
