import Compute
import Foundation

/// TransCLIP-ZS (Zanella, Gerin, Ben Ayed, NeurIPS 2024), reimplemented from the paper's
/// equations: a Gaussian mixture with one shared diagonal covariance, a k-nearest-neighbour
/// Laplacian term and a KL term that keeps the assignments near the zero-shot predictions,
/// optimised by alternating assignment steps and mean / variance updates. No label is read.
///
/// `transductive` (as published) runs on the images it classifies (the test split); `inductive`
/// fits the mixture on the pool and assigns each new image with the fitted means and variance and
/// its pool neighbours' assignments. The neighbour graph comes from a blocked top-k search:
/// memory `O(images · k)`, never `images × images`.
public struct TransCLIPMethod: AdaptationMethod {
    public enum Mode: String, Sendable, CaseIterable {
        case transductive
        case inductive
    }

    public struct Settings: Sendable, Equatable {
        /// λ, the weight of the KL term to the zero-shot predictions.
        public var lambda: Float = 1
        /// Neighbours of each image in the Laplacian term.
        public var neighbours: Int = 3
        /// Mean and variance updates.
        public var outerIterations: Int = 10
        /// Assignment steps after each update.
        public var assignmentSteps: Int = 5
        /// Images per class, by zero-shot probability, whose mean starts each class's Gaussian.
        public var initialImagesPerClass: Int = 8
        /// Temperature of the zero-shot predictions; nil: the checkpoint's logit scale.
        public var logitScale: Float?
        /// The most pool images the inductive mode fits on (a seeded subsample beyond it).
        public var poolSample: Int = 100_000

        public init() {}
    }

    public let usesLabels = false
    public var mode: Mode
    public var settings: Settings

    public init(mode: Mode, settings: Settings = Settings()) {
        self.mode = mode
        self.settings = settings
    }

    public var name: String { "TransCLIP-ZS (\(mode.rawValue))" }

    public func adapt(_ context: AdaptationContext) throws -> AdaptationOutcome {
        let scale = settings.logitScale ?? context.logitScale
        let solver = TransCLIPSolver(settings: settings, textClassifier: context.textClassifier, logitScale: scale)
        var notes = ["λ \(settings.lambda), \(settings.neighbours) neighbours, \(settings.outerIterations) × \(settings.assignmentSteps) steps, zero-shot temperature \(scale)"]
        switch mode {
        case .transductive:
            notes.append("transductive: fitted on the images it classifies")
            return AdaptationOutcome(classifier: TransductiveClassifier(classCount: context.classCount) { features, backend in
                try solver.assignments(of: features, backend: backend).logarithms()
            }, notes: notes)
        case .inductive:
            let sample = try LabelFreeSample(context, limit: settings.poolSample, name: "transclip.pool_sample")
            context.log("\(name): fitting the mixture on \(sample.features.rows) pool images")
            let fitted = try solver.fit(sample.features, backend: context.backend)
            return AdaptationOutcome(classifier: fitted, notes: notes + sample.notes)
        }
    }
}

/// A classifier that computes its logits from the whole set of images it is given at once
/// (transductive inference).
public struct TransductiveClassifier: ProbabilisticClassifier {
    public let classCount: Int
    let infer: @Sendable (HostMatrix, any TrainingBackend) throws -> HostMatrix

    init(classCount: Int, infer: @escaping @Sendable (HostMatrix, any TrainingBackend) throws -> HostMatrix) {
        self.classCount = classCount
        self.infer = infer
    }

    public func logits(features: HostMatrix, backend: any TrainingBackend) throws -> HostMatrix {
        try infer(features, backend)
    }

    public var scoresEachImageAlone: Bool { false }
}

extension HostMatrix {
    /// `log(max(value, 1e-30))` of every element: logits whose softmax gives back the rows of a
    /// probability matrix.
    func logarithms() throws -> HostMatrix {
        try HostMatrix(values: values.map { Foundation.log(Swift.max($0, 1e-30)) }, rows: rows, columns: columns)
    }
}

/// The TransCLIP-ZS optimisation.
struct TransCLIPSolver: Sendable {
    let settings: TransCLIPMethod.Settings
    let textClassifier: HostMatrix
    let logitScale: Float
    /// The scale the method writes its mixture and Laplacian terms at (`exp(term / 50)`).
    static let termScale = 50.0

    /// The fitted state: class means `[classes, dim]`, the shared diagonal variance `[dim]`.
    struct Mixture: Sendable {
        var means: HostMatrix
        var variance: [Double]
    }

    /// Assignments `[images, classes]` of `features` by the transductive optimisation.
    func assignments(of features: HostMatrix, backend: any TrainingBackend) throws -> HostMatrix {
        try optimise(features, backend: backend).assignments
    }

    /// The mixture fitted on `pool`, as a classifier of new images.
    func fit(_ pool: HostMatrix, backend: any TrainingBackend) throws -> InductiveTransCLIPClassifier {
        let result = try optimise(pool, backend: backend)
        return InductiveTransCLIPClassifier(solver: self, pool: pool, poolAssignments: result.assignments, mixture: result.mixture)
    }

    private func optimise(_ features: HostMatrix, backend: any TrainingBackend) throws -> (assignments: HostMatrix, mixture: Mixture) {
        let images = features.rows, classes = textClassifier.rows, width = features.columns
        guard images > 0 else { return (try HostMatrix(values: [], rows: 0, columns: classes), Mixture(means: textClassifier, variance: [])) }
        let device = try DeviceMatrix(features, backend: backend)
        let zeroShot = try device.softmaxOfProducts(textClassifier, scale: logitScale)
        var assignments = zeroShot.values.map(Double.init)
        var mixture = Mixture(means: try initialMeans(features, zeroShot: zeroShot), variance: [Double](repeating: 1 / Double(width), count: width))
        let neighbours = try NeighbourList.search(queries: features, keys: device, count: settings.neighbours, excludingSelf: true)
        var edges = [(row: Int32, column: Int32, weight: Float)]()
        edges.reserveCapacity(images * neighbours.count)
        for image in 0..<images {
            for slot in 0..<neighbours.count {
                let entry = image * neighbours.count + slot
                edges.append((Int32(image), neighbours.indices[entry], neighbours.similarities[entry]))
            }
        }
        let graph = SparseGraph(nodes: images, edges: edges)
        let laplacianWeight = Self.termScale / Double(2 * max(settings.neighbours, 1))
        let squares = SharedVarianceMixture.featureSquares(features)
        for iteration in 0...settings.outerIterations {
            let likelihood = try logLikelihoods(device, features: features, mixture: mixture)
            for _ in 0..<settings.assignmentSteps {
                let smoothed = graph.times(assignments, width: classes)
                assignments = Self.assign(
                    likelihood: likelihood, neighbourTerm: smoothed, neighbourWeight: laplacianWeight, zeroShot: zeroShot.values,
                    lambda: Double(settings.lambda), classes: classes)
            }
            if iteration == settings.outerIterations { break }
            mixture = try updatedMixture(device, assignments: assignments, squares: squares)
        }
        return (try HostMatrix(values: assignments.map { Float($0) }, rows: images, columns: classes), mixture)
    }

    /// `z[i] ∝ ŷ[i]^λ · exp((loglik[i] + w · neighbourTerm[i]) / 50)`, per row.
    static func assign(
        likelihood: [Double], neighbourTerm: [Double]?, neighbourWeight: Double, zeroShot: [Float], lambda: Double, classes: Int
    ) -> [Double] {
        var result = [Double](repeating: 0, count: likelihood.count)
        for start in stride(from: 0, to: likelihood.count, by: classes) {
            var maximum = -Double.infinity
            for column in 0..<classes {
                let value = likelihood[start + column] + neighbourWeight * (neighbourTerm?[start + column] ?? 0)
                result[start + column] = value
                maximum = max(maximum, value)
            }
            var sum = 0.0
            for column in 0..<classes {
                let prior = Foundation.pow(Double(zeroShot[start + column]), lambda)
                let value = prior * Foundation.exp((result[start + column] - maximum) / termScale)
                result[start + column] = value
                sum += value
            }
            let inverse = sum > 0 ? 1 / sum : 0
            for column in 0..<classes { result[start + column] *= inverse }
        }
        return result
    }

    /// `−½ Σ_d (x_d − μ_cd)² / σ²_d`, `[images, classes]` (the shared covariance's normaliser cancels).
    func logLikelihoods(_ device: DeviceMatrix, features: HostMatrix, mixture: Mixture) throws -> [Double] {
        let classes = mixture.means.rows, width = features.columns
        let inverse = mixture.variance.map { 1 / $0 }
        var scaledMeans = [Float](repeating: 0, count: classes * width)
        var meanTerms = [Double](repeating: 0, count: classes)
        for c in 0..<classes {
            for d in 0..<width {
                let mean = Double(mixture.means.values[c * width + d])
                scaledMeans[c * width + d] = Float(mean * inverse[d])
                meanTerms[c] += mean * mean * inverse[d]
            }
        }
        let cross = try device.timesTransposed(try HostMatrix(values: scaledMeans, rows: classes, columns: width))
        var result = [Double](repeating: 0, count: features.rows * classes)
        for image in 0..<features.rows {
            var ownTerm = 0.0
            for d in 0..<width {
                let x = Double(features.values[image * width + d])
                ownTerm += x * x * inverse[d]
            }
            for c in 0..<classes {
                result[image * classes + c] = -0.5 * (ownTerm - 2 * Double(cross.values[image * classes + c]) + meanTerms[c])
            }
        }
        return result
    }

    /// Class means: of each class's `initialImagesPerClass` images of highest zero-shot
    /// probability, the mean of their features weighted by that probability, normalised.
    func initialMeans(_ features: HostMatrix, zeroShot: HostMatrix) throws -> HostMatrix {
        let classes = zeroShot.columns, width = features.columns, count = min(settings.initialImagesPerClass, features.rows)
        var means = [Double](repeating: 0, count: classes * width)
        for c in 0..<classes {
            let ranked = (0..<features.rows).sorted { zeroShot.values[$0 * classes + c] > zeroShot.values[$1 * classes + c] || (zeroShot.values[$0 * classes + c] == zeroShot.values[$1 * classes + c] && $0 < $1) }
            for image in ranked.prefix(count) {
                let weight = Double(zeroShot.values[image * classes + c])
                for d in 0..<width { means[c * width + d] += weight * Double(features.values[image * width + d]) }
            }
        }
        VisionProxyFit.normalizeRows(&means, columns: width)
        return try HostMatrix(values: means.map { Float($0) }, rows: classes, columns: width)
    }

    /// Means: assignment-weighted feature means, normalised; variance: the assignment-weighted
    /// squared distance to the class means, per dimension, over all images.
    func updatedMixture(_ device: DeviceMatrix, assignments: [Double], squares: [Double]) throws -> Mixture {
        let classes = textClassifier.rows
        var totals = [Double](repeating: 0, count: classes)
        for index in assignments.indices { totals[index % classes] += assignments[index] }
        let weights = try HostMatrix(values: assignments.map { Float($0) }, rows: assignments.count / max(classes, 1), columns: classes)
        let (means, variance) = try SharedVarianceMixture.maximize(
            device, weights: weights, totals: totals, squares: squares, count: totals.reduce(0, +))
        return Mixture(means: try HostMatrix(values: means.map { Float($0) }, rows: classes, columns: device.columns), variance: variance)
    }
}

/// TransCLIP fitted on the pool: a new image's assignment combines its zero-shot prediction, the
/// fitted Gaussians and the assignments of its `neighbours` nearest pool images.
public struct InductiveTransCLIPClassifier: ProbabilisticClassifier {
    let solver: TransCLIPSolver
    let pool: HostMatrix
    let poolAssignments: HostMatrix
    let mixture: TransCLIPSolver.Mixture

    public var classCount: Int { solver.textClassifier.rows }

    public func logits(features: HostMatrix, backend: any TrainingBackend) throws -> HostMatrix {
        let classes = classCount
        let device = try DeviceMatrix(features, backend: backend)
        let zeroShot = try device.softmaxOfProducts(solver.textClassifier, scale: solver.logitScale)
        let likelihood = try solver.logLikelihoods(device, features: features, mixture: mixture)
        let neighbours = try NeighbourList.search(
            queries: features, keys: try DeviceMatrix(pool, backend: backend), count: solver.settings.neighbours)
        var term = [Double](repeating: 0, count: features.rows * classes)
        for image in 0..<features.rows {
            for slot in 0..<neighbours.count {
                let entry = image * neighbours.count + slot
                let neighbour = Int(neighbours.indices[entry]), weight = Double(neighbours.similarities[entry])
                for c in 0..<classes { term[image * classes + c] += weight * Double(poolAssignments.values[neighbour * classes + c]) }
            }
        }
        // A new image has only its own k edges; they count as both directions of the pool graph's.
        let weight = TransCLIPSolver.termScale / Double(max(solver.settings.neighbours, 1))
        let assignments = TransCLIPSolver.assign(
            likelihood: likelihood, neighbourTerm: term, neighbourWeight: weight, zeroShot: zeroShot.values,
            lambda: Double(solver.settings.lambda), classes: classes)
        return try HostMatrix(values: assignments.map { Float($0) }, rows: features.rows, columns: classes).logarithms()
    }
}
