import Compute
import Foundation

/// Class proxies in the image space fitted to soft labels of the pool (InMaP's "vision proxies"):
/// full-batch gradient descent on the cross-entropy `−(1/N) Σᵢ Σ_c P[i, c] log softmax(X Wᵀ / τ)[i, c]`,
/// starting at the text classifier, with every proxy re-normalised to unit length after each step.
/// The step size halves whenever the gradient's norm grows.
struct VisionProxyFit: Sendable, Equatable {
    /// τ of the proxies' softmax.
    var temperature: Float = 0.04
    /// The initial step size (it multiplies `1 / (N τ)`, as in the method's gradient).
    var learningRate: Float = 10
    /// Full-batch gradient steps.
    var steps: Int = 2000

    /// The fitted proxies `[classes, dim]`, unit rows.
    ///
    /// - Parameters:
    ///   - features: the pool `[images, dim]` on the device.
    ///   - initial: `[classes, dim]`, the starting proxies (the text classifier).
    ///   - targets: `[images, classes]`, soft labels whose rows sum to 1.
    /// - Throws: `AdaptationError.shapeMismatch` for inconsistent shapes, `.nonFinite` when a step
    ///   diverges, `ComputeError` from the backend.
    func fit(features: DeviceMatrix, initial: HostMatrix, targets: HostMatrix) throws -> HostMatrix {
        guard targets.rows == features.rows, targets.columns == initial.rows, initial.columns == features.columns else {
            throw AdaptationError.shapeMismatch(
                input: "proxy fit", expected: "targets [\(features.rows), \(initial.rows)], proxies [\(initial.rows), \(features.columns)]",
                actual: "targets [\(targets.rows), \(targets.columns)], proxies [\(initial.rows), \(initial.columns)]")
        }
        let classes = initial.rows, width = initial.columns
        // Pᵀ X, the targets' part of the gradient: fixed for the whole fit.
        let targetMeans = try features.transposedTimes(weights: targets).values
        var proxies = initial.values.map { Double($0) }
        var rate = Double(learningRate)
        var previousNorm = Double.infinity
        let stepScale = 1 / (Double(max(features.rows, 1)) * Double(temperature))
        for step in 0..<steps {
            let current = try HostMatrix(values: proxies.map { Float($0) }, rows: classes, columns: width)
            let probabilities = try features.softmaxOfProducts(current, scale: 1 / temperature)
            let predictedMeans = try features.transposedTimes(weights: probabilities).values
            var norm = 0.0
            var gradient = [Double](repeating: 0, count: classes * width)
            for index in gradient.indices {
                let value = Double(predictedMeans[index]) - Double(targetMeans[index])
                gradient[index] = value
                norm += value * value
            }
            norm = norm.squareRoot()
            guard norm.isFinite else { throw AdaptationError.nonFinite(what: "the proxies' gradient at step \(step + 1)") }
            if norm > previousNorm { rate /= 2 }
            previousNorm = norm
            for index in proxies.indices { proxies[index] -= rate * stepScale * gradient[index] }
            Self.normalizeRows(&proxies, columns: width)
        }
        return try HostMatrix(values: proxies.map { Float($0) }, rows: classes, columns: width)
    }

    /// Scales every row of `values` `[rows, columns]` to unit length (rows of zeros stay zero).
    static func normalizeRows(_ values: inout [Double], columns: Int) {
        guard columns > 0 else { return }
        for start in stride(from: 0, to: values.count, by: columns) {
            var sum = 0.0
            for index in start..<(start + columns) { sum += values[index] * values[index] }
            guard sum > 0 else { continue }
            let inverse = 1 / sum.squareRoot()
            for index in start..<(start + columns) { values[index] *= inverse }
        }
    }
}
