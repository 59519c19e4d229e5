import Compute
import Foundation

/// ZLaP (Stojnić, Kalantidis, Tolias, CVPR 2024), reimplemented from the paper's equations: label
/// propagation on a graph of class (text) nodes and image nodes. Each image links to its `k`
/// nearest images (cosine, negatives clipped to 0) and to its `k` nearest classes with weight
/// `cos^γ`; the graph is symmetrised and normalised, `Ŵ = D^{-1/2} W D^{-1/2}`, and the scores of
/// class `c` solve `(I − α Ŵ) f = e_c` by conjugate gradient. No label is read.
///
/// `transductive` (as published) builds the graph on the images it classifies; `inductive` builds
/// it on the pool and scores a new image through its pool and class neighbours:
/// `score_c = Σ_j s_j · [(I − α Ŵ)^{-1}]_{j, c}`, the exact solution of the new image's own
/// propagation, from the `classes` solves of the pool graph.
public struct ZLaPMethod: AdaptationMethod {
    public enum Mode: String, Sendable, CaseIterable {
        case transductive
        case inductive
    }

    public struct Settings: Sendable, Equatable {
        /// Image and class neighbours of each image (its own node counts among the image ones, as
        /// the method's search of a set in itself returns it; the self-loop is then dropped).
        public var neighbours: Int = 5
        /// γ, the power of the image–class similarities.
        public var gamma: Float = 5
        /// α of the propagation.
        public var alpha: Float = 0.3
        public var tolerance: Double = 1e-6
        public var maximumIterations: Int = 50
        /// The most pool images the inductive graph is built on (a seeded subsample beyond it).
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

    public var name: String { "ZLaP (\(mode.rawValue))" }

    public func adapt(_ context: AdaptationContext) throws -> AdaptationOutcome {
        guard settings.alpha > 0, settings.alpha < 1 else {
            throw AdaptationError.invalidSetting(name: "zlap.alpha", value: "\(settings.alpha)", reason: "must lie in (0, 1)")
        }
        let propagation = LabelPropagation(settings: settings, textClassifier: context.textClassifier)
        let notes = ["\(settings.neighbours) neighbours, γ \(settings.gamma), α \(settings.alpha), conjugate gradient to \(settings.tolerance)"]
        switch mode {
        case .transductive:
            return AdaptationOutcome(classifier: TransductiveClassifier(classCount: context.classCount) { features, backend in
                try propagation.transductiveScores(features, backend: backend).logarithms()
            }, notes: notes + ["transductive: the graph is built on the images it classifies"])
        case .inductive:
            let sample = try LabelFreeSample(context, limit: settings.poolSample, name: "zlap.pool_sample")
            context.log("\(name): propagating on the graph of \(sample.features.rows) pool images")
            let classifier = try propagation.inductiveClassifier(pool: sample.features, backend: context.backend)
            return AdaptationOutcome(classifier: classifier, notes: notes + sample.notes)
        }
    }
}

/// ZLaP's graph and solves.
struct LabelPropagation: Sendable {
    let settings: ZLaPMethod.Settings
    let textClassifier: HostMatrix
    /// Classes solved together (bounds the solver's `[nodes, block]` vectors).
    static let classBlock = 64

    var classes: Int { textClassifier.rows }

    /// The normalised graph of class nodes `0 ..< classes` and image nodes `classes ..< classes + images`.
    func graph(_ features: HostMatrix, device: DeviceMatrix) throws -> SparseGraph {
        let images = features.rows
        let imageNeighbours = try NeighbourList.search(queries: features, keys: device, count: min(settings.neighbours, images))
        let classNeighbours = try NeighbourList.search(
            queries: features, keys: try DeviceMatrix(textClassifier, backend: device.backend), count: min(settings.neighbours, classes))
        var edges = [(row: Int32, column: Int32, weight: Float)]()
        edges.reserveCapacity(images * (imageNeighbours.count + classNeighbours.count))
        for image in 0..<images {
            let node = Int32(classes + image)
            for slot in 0..<imageNeighbours.count {
                let entry = image * imageNeighbours.count + slot
                edges.append((node, Int32(classes) + imageNeighbours.indices[entry], max(imageNeighbours.similarities[entry], 0)))
            }
            for slot in 0..<classNeighbours.count {
                let entry = image * classNeighbours.count + slot
                edges.append((node, classNeighbours.indices[entry], classWeight(classNeighbours.similarities[entry])))
            }
        }
        return SparseGraph(nodes: classes + images, edges: edges).symmetricallyNormalized()
    }

    func classWeight(_ similarity: Float) -> Float { Foundation.pow(max(similarity, 0), settings.gamma) }

    /// `(I − α Ŵ)^{-1} e_c` for every class, `[nodes, classes]`, solved `classBlock` classes at a time.
    func inverseColumns(_ graph: SparseGraph) -> [Double] {
        var result = [Double](repeating: 0, count: graph.nodes * classes)
        for first in stride(from: 0, to: classes, by: Self.classBlock) {
            let width = min(Self.classBlock, classes - first)
            var rightHandSides = [Double](repeating: 0, count: graph.nodes * width)
            for column in 0..<width { rightHandSides[(first + column) * width + column] = 1 }
            let solution = graph.solveShifted(
                alpha: Double(settings.alpha), rightHandSides: rightHandSides, width: width,
                tolerance: settings.tolerance, maximumIterations: settings.maximumIterations)
            for node in 0..<graph.nodes {
                for column in 0..<width { result[node * classes + first + column] = solution[node * width + column] }
            }
        }
        return result
    }

    /// Scores `[images, classes]` of the images' own graph, normalised to sum 1 per row.
    func transductiveScores(_ features: HostMatrix, backend: any TrainingBackend) throws -> HostMatrix {
        guard features.rows > 0 else { return try HostMatrix(values: [], rows: 0, columns: classes) }
        let inverse = inverseColumns(try graph(features, device: try DeviceMatrix(features, backend: backend)))
        return try Self.rowNormalized(Array(inverse[(classes * classes)...]), rows: features.rows, columns: classes)
    }

    /// The pool graph solved once, as a classifier of new images.
    func inductiveClassifier(pool: HostMatrix, backend: any TrainingBackend) throws -> InductiveZLaPClassifier {
        let inverse = inverseColumns(try graph(pool, device: try DeviceMatrix(pool, backend: backend)))
        return InductiveZLaPClassifier(propagation: self, pool: pool, inverse: inverse)
    }

    /// Rows scaled to sum 1 (scores clipped at 0; a row of zeros becomes uniform).
    static func rowNormalized(_ scores: [Double], rows: Int, columns: Int) throws -> HostMatrix {
        var values = [Float](repeating: 0, count: rows * columns)
        for row in 0..<rows {
            var sum = 0.0
            for column in 0..<columns { sum += max(scores[row * columns + column], 0) }
            for column in 0..<columns {
                values[row * columns + column] = sum > 0 ? Float(max(scores[row * columns + column], 0) / sum) : 1 / Float(columns)
            }
        }
        return try HostMatrix(values: values, rows: rows, columns: columns)
    }
}

/// ZLaP on the pool's graph: a new image's class scores are the propagation of its own edges
/// (to its nearest pool images and classes) through the solved pool graph.
public struct InductiveZLaPClassifier: ProbabilisticClassifier {
    let propagation: LabelPropagation
    let pool: HostMatrix
    /// `[classes + pool images, classes]`: column c is `(I − α Ŵ)^{-1} e_c`.
    let inverse: [Double]

    public var classCount: Int { propagation.classes }

    public func logits(features: HostMatrix, backend: any TrainingBackend) throws -> HostMatrix {
        let classes = classCount, settings = propagation.settings
        let images = try NeighbourList.search(
            queries: features, keys: try DeviceMatrix(pool, backend: backend), count: min(settings.neighbours, pool.rows))
        let texts = try NeighbourList.search(
            queries: features, keys: try DeviceMatrix(propagation.textClassifier, backend: backend), count: min(settings.neighbours, classes))
        var scores = [Double](repeating: 0, count: features.rows * classes)
        for image in 0..<features.rows {
            for slot in 0..<images.count {
                let entry = image * images.count + slot
                let node = classes + Int(images.indices[entry]), weight = Double(max(images.similarities[entry], 0))
                for c in 0..<classes { scores[image * classes + c] += weight * inverse[node * classes + c] }
            }
            for slot in 0..<texts.count {
                let entry = image * texts.count + slot
                let node = Int(texts.indices[entry]), weight = Double(propagation.classWeight(texts.similarities[entry]))
                for c in 0..<classes { scores[image * classes + c] += weight * inverse[node * classes + c] }
            }
        }
        return try LabelPropagation.rowNormalized(scores, rows: features.rows, columns: classes).logarithms()
    }
}
