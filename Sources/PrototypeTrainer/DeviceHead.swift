import Compute

/// The affinity head on a device: the text classifier, the keys and their class layout, and the
/// per-batch buffers, allocated once for the largest batch and viewed with a prefix for smaller ones.
final class DeviceHead {
    let backend: any TrainingBackend
    let classes: Int
    let keyCount: Int
    let width: Int
    let capacity: Int
    var head: HeadParameters
    let logitScale: Float

    /// `W` `[classes, dim]`.
    let weights: Tensor
    /// `P` `[keys, dim]`: trained in place.
    let keys: Tensor
    /// `[classes + 1]` integral floats.
    let classOffsets: Tensor
    /// `[keys]` integral floats.
    let keyClasses: Tensor

    private let featureBuffer: Tensor
    private let affinityBuffer: Tensor
    private let logitBuffer: Tensor
    private let targetBuffer: Tensor
    private let lossBuffer: Tensor

    /// Views of the buffers for one batch of `count` rows.
    struct Batch {
        let count: Int
        /// `[count, dim]`.
        let features: Tensor
        /// `[count, keys]`: the affinity, then E, then dA, in place.
        let affinity: Tensor
        /// `[count, classes]`: the zero-shot logits, then the fused logits, then their gradient.
        let logits: Tensor
        /// `[count]` integral floats.
        let targets: Tensor
        /// `[count]`.
        let losses: Tensor
    }

    init(backend: any TrainingBackend, classifier: AdaptedClassifier, capacity: Int) throws {
        let prototypes = classifier.prototypes
        self.backend = backend
        classes = prototypes.classCount
        keyCount = prototypes.keyCount
        width = prototypes.dimension
        self.capacity = capacity
        head = classifier.head
        logitScale = classifier.logitScale
        weights = try backend.upload(classifier.textClassifier.values, shape: [classes, width])
        keys = try backend.upload(prototypes.keys.values, shape: [keyCount, width])
        classOffsets = try IndexTensor.upload(prototypes.classOffsets, below: keyCount + 1, name: "classOffsets", to: backend)
        keyClasses = try IndexTensor.upload(prototypes.keyClasses, below: classes, name: "keyClasses", to: backend)
        featureBuffer = try backend.makeTensor(shape: [capacity, width])
        affinityBuffer = try backend.makeTensor(shape: [capacity, keyCount])
        logitBuffer = try backend.makeTensor(shape: [capacity, classes])
        targetBuffer = try backend.makeTensor(shape: [capacity])
        lossBuffer = try backend.makeTensor(shape: [capacity])
    }

    func batch(_ count: Int) throws -> Batch {
        Batch(
            count: count,
            features: try featureBuffer.prefix(shape: [count, width]),
            affinity: try affinityBuffer.prefix(shape: [count, keyCount]),
            logits: try logitBuffer.prefix(shape: [count, classes]),
            targets: try targetBuffer.prefix(shape: [count]),
            losses: try lossBuffer.prefix(shape: [count]))
    }

    /// Fused logits of `batch.features` into `batch.logits`; leaves E in `batch.affinity`.
    func forward(_ batch: Batch) throws {
        try backend.matmul(batch.features, weights, into: batch.logits, options: MatmulOptions(transposeB: true, alpha: logitScale))
        try backend.matmul(batch.features, keys, into: batch.affinity, options: MatmulOptions(transposeB: true))
        try backend.prototypeLogits(
            affinity: batch.affinity, zeroShotLogits: batch.logits, classOffsets: classOffsets,
            alpha: head.alpha, beta: head.beta, exponentials: batch.affinity, logits: batch.logits)
    }

    /// Forward, per-row losses into `batch.losses`, and the gradient of the batch-mean loss with
    /// respect to the keys into `keyGradient` `[keys, dim]`.
    /// The zero-shot logits `scale · F · Wᵀ` of every row of `table` `[rows, width]`: the text
    /// classifier is fixed during training, so they are computed once instead of every step.
    func zeroShotLogits(of table: Tensor) throws -> Tensor {
        let rows = table.shape[0]
        let logits = try backend.makeTensor(shape: [rows, classes])
        try backend.matmul(table, weights, into: logits, options: MatmulOptions(transposeB: true, alpha: logitScale))
        return logits
    }

    /// `forward` for a batch whose zero-shot logits are already in `batch.logits`.
    func forwardPrototypes(_ batch: Batch) throws {
        try backend.matmul(batch.features, keys, into: batch.affinity, options: MatmulOptions(transposeB: true))
        try backend.prototypeLogits(
            affinity: batch.affinity, zeroShotLogits: batch.logits, classOffsets: classOffsets,
            alpha: head.alpha, beta: head.beta, exponentials: batch.affinity, logits: batch.logits)
    }

    /// One step's loss and key gradient; `zeroShotReady` says `batch.logits` already holds the
    /// batch's zero-shot logits (gathered from `zeroShotLogits(of:)`).
    func lossAndGradient(_ batch: Batch, into keyGradient: Tensor, zeroShotReady: Bool = false) throws {
        if zeroShotReady { try forwardPrototypes(batch) } else { try forward(batch) }
        try backend.softmaxCrossEntropy(
            logits: batch.logits, targets: batch.targets, gradientScale: 1 / Float(batch.count),
            losses: batch.losses, gradient: batch.logits)
        try backend.prototypeAffinityGradient(
            exponentials: batch.affinity, logitGradient: batch.logits, keyClasses: keyClasses,
            factor: head.alpha * head.beta, into: batch.affinity)
        try backend.matmul(batch.affinity, batch.features, into: keyGradient, options: MatmulOptions(transposeA: true))
    }
}
