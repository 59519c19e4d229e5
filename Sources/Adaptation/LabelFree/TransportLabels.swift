import Compute
import Foundation

/// Soft pseudo-labels by entropic optimal transport (Sinkhorn–Knopp): the assignment of images to
/// classes closest to `softmax(similarities / τ)` whose class totals follow a given marginal. With
/// the uniform marginal every class receives the same share of the pool (InMaP's labels); with an
/// estimated marginal the shares follow the collection's own class sizes.
enum TransportLabels {
    /// `[images, classes]` soft labels, each row summing to 1, whose column means approach
    /// `marginal` (uniform when nil) after `iterations` alternating normalisations.
    ///
    /// - Parameters:
    ///   - similarities: `[images, classes]`, cosine similarities of images and class weights.
    ///   - temperature: τ of the starting point `softmax(similarities / τ)`.
    ///   - marginal: `[classes]` class shares summing to 1, or nil for `1 / classes` each.
    /// - Throws: `AdaptationError.invalidSetting` for a marginal of the wrong size or with a
    ///   negative or non-finite share.
    static func sinkhorn(similarities: HostMatrix, temperature: Float, iterations: Int, marginal: [Double]? = nil) throws -> HostMatrix {
        let images = similarities.rows, classes = similarities.columns
        let shares = try validatedMarginal(marginal, classes: classes)
        guard images > 0, classes > 0 else { return similarities }
        // Start: row softmax of the similarities at temperature τ (Double, so that τ = 0.01 on
        // cosines cannot overflow).
        var plan = [Double](repeating: 0, count: images * classes)
        similarities.values.withUnsafeBufferPointer { input in
            for row in 0..<images {
                let base = row * classes
                var maximum = -Double.infinity
                for column in 0..<classes { maximum = max(maximum, Double(input[base + column]) / Double(temperature)) }
                var sum = 0.0
                for column in 0..<classes {
                    let value = Foundation.exp(Double(input[base + column]) / Double(temperature) - maximum)
                    plan[base + column] = value
                    sum += value
                }
                for column in 0..<classes { plan[base + column] /= sum }
            }
        }
        var columnSums = [Double](repeating: 0, count: classes)
        for _ in 0..<iterations {
            // Columns: class c holds the share shares[c] of the images.
            for index in columnSums.indices { columnSums[index] = 0 }
            for row in 0..<images {
                let base = row * classes
                for column in 0..<classes { columnSums[column] += plan[base + column] }
            }
            let columnFactors = (0..<classes).map { columnSums[$0] > 0 ? shares[$0] * Double(images) / columnSums[$0] : 0 }
            // Rows: every image is assigned once.
            for row in 0..<images {
                let base = row * classes
                var sum = 0.0
                for column in 0..<classes {
                    plan[base + column] *= columnFactors[column]
                    sum += plan[base + column]
                }
                let inverse = sum > 0 ? 1 / sum : 0
                for column in 0..<classes { plan[base + column] *= inverse }
            }
        }
        return try HostMatrix(values: plan.map { Float($0) }, rows: images, columns: classes)
    }

    /// Rows whose largest entry exceeds `threshold` become one-hot at it; the others stay soft.
    static func sharpened(_ labels: HostMatrix, threshold: Float) throws -> HostMatrix {
        var values = labels.values
        let classes = labels.columns
        for row in 0..<labels.rows {
            let base = row * classes
            var best = base
            for index in base..<(base + classes) where values[index] > values[best] { best = index }
            guard values[best] > threshold else { continue }
            for index in base..<(base + classes) { values[index] = index == best ? 1 : 0 }
        }
        return try HostMatrix(values: values, rows: labels.rows, columns: classes)
    }

    /// Classes whose labels hold less than half an image in all: the transport gave them nothing.
    static func emptyClasses(_ labels: HostMatrix) -> [Int] {
        var totals = [Double](repeating: 0, count: labels.columns)
        for index in labels.values.indices { totals[index % labels.columns] += Double(labels.values[index]) }
        return totals.indices.filter { totals[$0] < 0.5 }
    }

    /// `proxies` with the rows of `classes` put back to the text classifier's, and a warning naming them.
    static func keepingTextWeights(_ proxies: HostMatrix, for classes: [Int], text: HostMatrix, method: String, context: AdaptationContext) throws -> HostMatrix {
        guard !classes.isEmpty else { return proxies }
        context.warn("\(method): no pool image was pseudo-labelled as " + classes.map { "class \($0)" }.joined(separator: ", ")
                     + "; those classes keep zero-shot's text weights")
        var values = proxies.values
        for c in classes {
            for d in 0..<proxies.columns { values[c * proxies.columns + d] = text.values[c * proxies.columns + d] }
        }
        return try HostMatrix(values: values, rows: proxies.rows, columns: proxies.columns)
    }

    static func validatedMarginal(_ marginal: [Double]?, classes: Int) throws -> [Double] {
        guard let marginal else { return [Double](repeating: 1 / Double(max(classes, 1)), count: classes) }
        guard marginal.count == classes else {
            throw AdaptationError.shapeMismatch(input: "class marginal", expected: "\(classes) shares", actual: "\(marginal.count)")
        }
        guard marginal.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw AdaptationError.invalidSetting(name: "class marginal", value: "\(marginal)", reason: "shares must be finite and non-negative")
        }
        let total = marginal.reduce(0, +)
        guard total > 0 else { throw AdaptationError.invalidSetting(name: "class marginal", value: "\(marginal)", reason: "shares sum to 0") }
        return marginal.map { $0 / total }
    }
}
