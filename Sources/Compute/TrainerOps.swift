import Foundation

/// The operations that zero-shot selection and prototype training add to a backend: row copies
/// and gathers driven by device-resident indices, the affinity head's fused forward and backward
/// steps, softmax cross-entropy with its gradient, row maxima, a sum reduction and the AdamW update.
///
/// Integer data (class labels, row indices, class offsets) lives in ordinary float tensors as
/// integral values, exact below 2²⁴; the host checks the values when it builds such a tensor
/// (`IndexTensor.validated`), the operations trust them.
///
/// Prototypes are sorted by class: class `c` owns the contiguous key range
/// `classOffsets[c] ..< classOffsets[c + 1]`, and `keyClasses[k]` is the class of key `k`. The
/// one-hot value matrix `L` `[keys, classes]` of the design is never stored: `E · L` is a sum over
/// each class's key range and `dE = dlogits · Lᵀ` a gather of columns, O(batch · keys) instead of
/// O(batch · keys · classes). The `mean` prototypes are the case of one key per class.
public protocol TrainingBackend: Backend {
    /// Copies rows `start ..< start + destination rows` of `source` `[rows, width]` into
    /// `destination` `[count, width]`: a batch view of a matrix kept on the device.
    func copyRows(_ source: Tensor, from start: Int, into destination: Tensor) throws

    /// `destination[r] = table[indices[start + r]]` for every row `r` of `destination`.
    ///
    /// - `table`: `[rows, width]`; `indices`: integral floats, at least `start + count` of them,
    ///   each in `0 ..< rows`; `destination`: `[count, width]`.
    func gatherRows(_ table: Tensor, indices: Tensor, from start: Int, into destination: Tensor) throws

    /// The affinity head's forward pass in one step:
    /// `E[b, k] = exp(−β (1 − A[b, k]))` and `logits[b, c] = zeroShot[b, c] + α Σ_{k ∈ class c} E[b, k]`.
    ///
    /// - `affinity` A: `[batch, keys]` (`F · Pᵀ`); `exponentials` E: `[batch, keys]`, may be `affinity`.
    /// - `zeroShotLogits`, `logits`: `[batch, classes]`; `logits` may be `zeroShotLogits`.
    /// - `classOffsets`: `[classes + 1]` integral floats, non-decreasing, from 0 to `keys`.
    func prototypeLogits(
        affinity: Tensor, zeroShotLogits: Tensor, classOffsets: Tensor, alpha: Float, beta: Float,
        exponentials: Tensor, logits: Tensor) throws

    /// Softmax cross-entropy of every row against an integer target, with its gradient:
    /// `loss[r] = logsumexp(x[r]) − x[r, t_r]`, `gradient[r] = scale · (softmax(x[r]) − onehot(t_r))`.
    ///
    /// - `logits`, `gradient`: `[rows, classes]`; `gradient` may be `logits`.
    /// - `targets`: `[rows]` integral floats in `0 ..< classes`; `losses`: `[rows]`.
    /// - `gradientScale`: `1 / rows` for the gradient of the batch mean.
    func softmaxCrossEntropy(
        logits: Tensor, targets: Tensor, gradientScale: Float, losses: Tensor, gradient: Tensor) throws

    /// Gradient of the loss with respect to the affinity, from the gradient of the fused logits:
    /// `dA[b, k] = factor · E[b, k] · dlogits[b, keyClasses[k]]` (`factor = α · β`).
    ///
    /// - `exponentials` E, `affinityGradient` dA: `[batch, keys]`; dA may be E.
    /// - `logitGradient`: `[batch, classes]`; `keyClasses`: `[keys]` integral floats.
    func prototypeAffinityGradient(
        exponentials: Tensor, logitGradient: Tensor, keyClasses: Tensor, factor: Float,
        into affinityGradient: Tensor) throws

    /// One AdamW step over a parameter tensor, in place (decoupled weight decay, bias correction):
    /// `p ← p (1 − lr·wd)`, `m ← β₁ m + (1 − β₁) g`, `v ← β₂ v + (1 − β₂) g²`,
    /// `p ← p − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)`.
    ///
    /// - `parameters`, `gradient`, `firstMoment`, `secondMoment`: the same element count, four
    ///   tensors that share no storage.
    func adamWStep(
        parameters: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor,
        step: AdamWStep) throws

    /// The largest element of every row and its column (the lowest column on ties; NaN is never
    /// chosen over a number). `x`: `[rows, width]`; `indices` (integral floats), `maxima`: `[rows]`.
    ///
    /// With `asProbability`, `maxima` holds instead the softmax probability of that element,
    /// `1 / Σ_c exp(x[r, c] − max)`: the zero-shot confidence without a probability matrix.
    func rowMaximum(_ x: Tensor, indices: Tensor, maxima: Tensor, asProbability: Bool) throws

    /// `output[index] = scale · Σ x`: accumulates per-step losses on the device so that a run
    /// reads them back once.
    func reduceSum(_ x: Tensor, scale: Float, into output: Tensor, at index: Int) throws
}

extension TrainingBackend {
    /// `rowMaximum` returning the maxima themselves.
    public func rowMaximum(_ x: Tensor, indices: Tensor, maxima: Tensor) throws {
        try rowMaximum(x, indices: indices, maxima: maxima, asProbability: false)
    }
}

/// The backend's training operations.
/// - Throws: `ComputeError.invalidArgument` when the backend does not implement them.
public func trainingBackend(_ backend: any Backend) throws -> any TrainingBackend {
    guard let training = backend as? any TrainingBackend else {
        throw ComputeError.invalidArgument(operation: "trainingBackend", message: "backend \(backend.name) has no training operations")
    }
    return training
}

/// The scalars of one AdamW update, computed on the host for step `t` (1-based).
public struct AdamWStep: Sendable, Equatable {
    /// Learning rate of this step (after the schedule).
    public var learningRate: Float
    /// Exponential decay of the first moment, β₁.
    public var beta1: Float
    /// Exponential decay of the second moment, β₂.
    public var beta2: Float
    /// Added to the bias-corrected root of the second moment.
    public var epsilon: Float
    /// Decoupled weight decay: each step multiplies the parameters by `1 − lr · weightDecay`.
    public var weightDecay: Float
    /// `1 − β₁ᵗ`.
    public var firstCorrection: Float
    /// `√(1 − β₂ᵗ)`.
    public var secondCorrectionRoot: Float

    /// The scalars for step `step` (1-based), bias corrections computed in double precision.
    public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0.01, step: Int) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstCorrection = Float(1 - pow(Double(beta1), Double(step)))
        secondCorrectionRoot = Float((1 - pow(Double(beta2), Double(step))).squareRoot())
    }
}

/// Integral float tensors that carry labels, row indices and class offsets.
public enum IndexTensor {
    /// Largest integer a float32 holds exactly.
    public static let exactLimit = 1 << 24

    /// The values as floats, after checking each lies in `0 ..< bound` (and below 2²⁴).
    /// - Throws: `ComputeError.invalidArgument` naming `name` and the first offending value.
    public static func validated(_ values: [Int], below bound: Int, name: String) throws -> [Float] {
        guard bound <= exactLimit + 1 else {
            throw ComputeError.invalidArgument(operation: name, message: "bound \(bound) exceeds 2^24, not exact in float32")
        }
        var result = [Float](repeating: 0, count: values.count)
        for (position, value) in values.enumerated() {
            guard value >= 0, value < bound else {
                throw ComputeError.invalidArgument(
                    operation: name, message: "value \(value) at position \(position) is outside 0..<\(bound)")
            }
            result[position] = Float(value)
        }
        return result
    }

    /// A new tensor on `backend` holding `values` checked against `bound`.
    public static func upload(_ values: [Int], below bound: Int, name: String, to backend: any Backend) throws -> Tensor {
        let tensor = try backend.makeTensor(shape: [values.count])
        try backend.write(try validated(values, below: bound, name: name), to: tensor)
        return tensor
    }
}

// MARK: Shape checks shared by both backends

/// A row-major float matrix in host memory, `[rows, columns]`: features, classifiers and
/// prototypes as they pass between modules before and after device work.
public struct HostMatrix: Sendable, Equatable {
    /// The elements, row-major, `rows · columns` of them.
    public let values: [Float]
    public let rows: Int
    public let columns: Int

    /// Wraps `values` as `[rows, columns]`.
    /// - Throws: `ComputeError.shapeMismatch` when the count is not `rows · columns`.
    public init(values: [Float], rows: Int, columns: Int) throws {
        guard rows >= 0, columns >= 0, values.count == rows * columns else {
            throw ComputeError.shapeMismatch(
                operation: "HostMatrix", tensor: "values", expected: "\(rows) × \(columns) = \(rows * columns) elements",
                actual: [values.count])
        }
        self.values = values
        self.rows = rows
        self.columns = columns
    }

    /// Row `index` as an array.
    public func row(_ index: Int) -> ArraySlice<Float> {
        values[(index * columns)..<((index + 1) * columns)]
    }

    /// The rows at `indices`, in that order.
    /// - Throws: `ComputeError.invalidArgument` for an index outside `0 ..< rows`.
    public func rows(at indices: [Int]) throws -> HostMatrix {
        if let bad = indices.first(where: { $0 < 0 || $0 >= rows }) {
            throw ComputeError.invalidArgument(operation: "HostMatrix.rows(at:)", message: "row \(bad) outside 0..<\(rows)")
        }
        var gathered = [Float]()
        gathered.reserveCapacity(indices.count * columns)
        for index in indices { gathered.append(contentsOf: row(index)) }
        return HostMatrix(unchecked: gathered, rows: indices.count, columns: columns)
    }

    /// Wraps values whose count the caller guarantees.
    init(unchecked values: [Float], rows: Int, columns: Int) {
        self.values = values
        self.rows = rows
        self.columns = columns
    }
}
