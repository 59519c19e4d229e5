import Compute
import Foundation

/// Settings of prototype training. The configurable ones come from the configuration
/// (`training`, whose defaults are Tip-Adapter-F's recipe); AdamW's β₁, β₂, the cosine decay
/// and the shuffled order are the recipe's fixed parts.
public struct TrainingConfiguration: Sendable, Equatable {
    /// Passes over the training rows.
    public var epochs: Int
    /// Rows per step; the last step of an epoch takes the remainder.
    public var batchSize: Int
    /// Peak learning rate, decayed with a per-step cosine to 0 over all epochs.
    public var learningRate: Float
    /// AdamW's ε (Tip-Adapter-F's 1e-4 is larger than PyTorch's default 1e-8).
    public var epsilon: Float
    /// Decoupled weight decay (PyTorch's AdamW default 0.01 is what Tip-Adapter-F keeps).
    public var weightDecay: Float
    public var beta1: Float
    public var beta2: Float
    /// Decay the learning rate with a cosine (otherwise constant).
    public var cosineDecay: Bool
    /// Row order per epoch.
    public var batchOrder: BatchOrder
    /// Seed of the shuffles.
    public var seed: UInt64

    public init(
        epochs: Int, batchSize: Int, learningRate: Float, epsilon: Float, weightDecay: Float,
        beta1: Float = 0.9, beta2: Float = 0.999, cosineDecay: Bool = true, batchOrder: BatchOrder = .shuffled, seed: UInt64
    ) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.beta1 = beta1
        self.beta2 = beta2
        self.cosineDecay = cosineDecay
        self.batchOrder = batchOrder
        self.seed = seed
    }
}

/// What a training run produced.
public struct TrainingResult: Sendable {
    /// The adapted classifier with the trained keys.
    public let classifier: AdaptedClassifier
    /// Mean of the step losses of every epoch, `[epochs]`.
    public let epochLosses: [Float]
    /// Batch-mean cross-entropy of every step, before its update, `[steps]`.
    public let stepLosses: [Float]
    /// Learning rate of every step, `[steps]`.
    public let learningRates: [Float]
    /// Wall-clock seconds of the training loop (uploads and the final read-back included).
    public let seconds: Double

    /// The trained prototypes.
    public var prototypes: Prototypes { classifier.prototypes }
}

/// Trains the keys of the affinity head with cross-entropy of the fused logits, AdamW and a
/// cosine schedule, entirely on the backend: each step gathers its rows on the device from an
/// order uploaded once per epoch, runs forward, loss, backward and the update, and accumulates
/// its loss on the device; an epoch's step losses are read back once, after its last step, and
/// checked: a run whose loss becomes NaN or infinite stops there, naming the epoch and step,
/// instead of running its remaining epochs (one read, so one synchronisation, per epoch).
///
/// The keys are not re-normalised during training (as in Tip-Adapter-F), so after training the
/// affinity `F · Pᵀ` is a scaled rather than a pure cosine similarity.
public struct PrototypeTrainer: Sendable {
    public let backend: any TrainingBackend

    public init(backend: any TrainingBackend) {
        self.backend = backend
    }

    /// Trains `classifier`'s keys on `features` `[rows, dim]` labelled `labels` `[rows]`.
    ///
    /// - Throws: `TrainerError` for inconsistent inputs or configuration, `ComputeError` from the backend.
    public func train(
        _ classifier: AdaptedClassifier, features: HostMatrix, labels: [Int], configuration: TrainingConfiguration
    ) throws -> TrainingResult {
        let start = Date()
        try Prototypes.requireCompatible(features: features, labels: labels, textClassifier: classifier.textClassifier)
        let rows = features.rows, width = features.columns
        let (stepsPerEpoch, totalSteps) = try Self.stepCounts(rows: rows, configuration: configuration)
        let orders = try Schedule.epochOrders(configuration.batchOrder, rows: rows, epochs: configuration.epochs, seed: configuration.seed)

        let device = try DeviceHead(backend: backend, classifier: classifier, capacity: min(configuration.batchSize, rows))
        let table = try backend.upload(features.values, shape: [rows, width])
        let labelTable = try IndexTensor.upload(labels, below: classifier.textClassifier.rows, name: "labels", to: backend)
        let labelColumn = try labelTable.reshaped([rows, 1])
        // Zero-shot logits of every row, once, when the table is of a reasonable size (≤ 256 MiB).
        let zeroShotTable = rows * device.classes <= 1 << 26 ? try device.zeroShotLogits(of: table) : nil
        let order = try backend.makeTensor(shape: [rows])
        let gradient = try backend.makeTensor(shape: [device.keyCount, width])
        let firstMoment = try backend.makeTensor(shape: [device.keyCount, width])
        let secondMoment = try backend.makeTensor(shape: [device.keyCount, width])
        try backend.fill(firstMoment, with: 0)
        try backend.fill(secondMoment, with: 0)
        // One epoch's step losses, `[stepsPerEpoch]`, read back and checked after each epoch.
        let epochStepLosses = try backend.makeTensor(shape: [max(stepsPerEpoch, 1)])

        var learningRates = [Float]()
        learningRates.reserveCapacity(totalSteps)
        var losses = [Float]()
        losses.reserveCapacity(totalSteps)
        var step = 0
        for epochOrder in orders {
            try backend.write(try IndexTensor.validated(epochOrder, below: rows, name: "batch order"), to: order)
            for (stepInEpoch, batchStart) in stride(from: 0, to: rows, by: device.capacity).enumerated() {
                let batch = try device.batch(min(device.capacity, rows - batchStart))
                try backend.gatherRows(table, indices: order, from: batchStart, into: batch.features)
                try backend.gatherRows(labelColumn, indices: order, from: batchStart, into: try batch.targets.reshaped([batch.count, 1]))
                if let zeroShotTable {
                    try backend.gatherRows(zeroShotTable, indices: order, from: batchStart, into: batch.logits)
                }
                try device.lossAndGradient(batch, into: gradient, zeroShotReady: zeroShotTable != nil)
                try backend.reduceSum(batch.losses, scale: 1 / Float(batch.count), into: epochStepLosses, at: stepInEpoch)
                let rate = configuration.cosineDecay
                    ? Schedule.cosine(configuration.learningRate, step: step, totalSteps: totalSteps) : configuration.learningRate
                learningRates.append(rate)
                step += 1
                try backend.adamWStep(
                    parameters: device.keys, gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment,
                    step: AdamWStep(
                        learningRate: rate, beta1: configuration.beta1, beta2: configuration.beta2,
                        epsilon: configuration.epsilon, weightDecay: configuration.weightDecay, step: step))
            }
            let epochValues = try backend.read(epochStepLosses).prefix(stepsPerEpoch)
            if let bad = epochValues.firstIndex(where: { !$0.isFinite }) {
                throw Self.divergence("loss", step: losses.count + bad, stepsPerEpoch: stepsPerEpoch, epochs: configuration.epochs)
            }
            losses += epochValues
        }
        let trainedKeys = try backend.read(device.keys)
        try Self.requireFinite(losses: losses, keys: trainedKeys, stepsPerEpoch: stepsPerEpoch, epochs: configuration.epochs)
        let epochLosses = (0..<configuration.epochs).map { epoch in
            losses[(epoch * stepsPerEpoch)..<((epoch + 1) * stepsPerEpoch)].reduce(0, +) / Float(stepsPerEpoch)
        }
        let trained = try AdaptedClassifier(
            textClassifier: classifier.textClassifier, prototypes: try classifier.prototypes.replacingKeys(trainedKeys),
            head: classifier.head, logitScale: classifier.logitScale)
        return TrainingResult(
            classifier: trained, epochLosses: epochLosses, stepLosses: losses, learningRates: learningRates,
            seconds: Date().timeIntervalSince(start))
    }

    /// Steps per epoch and in all, for `rows` training rows: checked before the per-epoch orders
    /// and the per-step losses are allocated.
    ///
    /// - Throws: `TrainerError.invalidArgument` for negative epochs, a batch size below 1, no rows,
    ///   or a run beyond `maximumSteps` steps or `maximumOrderedRows` row visits.
    static func stepCounts(rows: Int, configuration: TrainingConfiguration) throws -> (perEpoch: Int, total: Int) {
        guard configuration.epochs >= 0 else {
            throw TrainerError.invalidArgument(name: "epochs", message: "\(configuration.epochs) must not be negative")
        }
        guard configuration.batchSize > 0 else {
            throw TrainerError.invalidArgument(name: "batchSize", message: "\(configuration.batchSize) must be at least 1")
        }
        guard rows > 0 else { throw TrainerError.invalidArgument(name: "features", message: "no training rows") }
        let stepsPerEpoch = (rows + configuration.batchSize - 1) / configuration.batchSize
        let (totalSteps, stepsOverflow) = stepsPerEpoch.multipliedReportingOverflow(by: configuration.epochs)
        let (orderedRows, rowsOverflow) = rows.multipliedReportingOverflow(by: configuration.epochs)
        guard !stepsOverflow, !rowsOverflow, totalSteps <= maximumSteps, orderedRows <= maximumOrderedRows else {
            throw TrainerError.invalidArgument(
                name: "epochs", message: "\(configuration.epochs) epochs of \(stepsPerEpoch) steps over \(rows) rows exceed the limits "
                    + "of \(maximumSteps) steps and \(maximumOrderedRows) row visits")
        }
        return (stepsPerEpoch, totalSteps)
    }

    /// The most optimiser steps one training run may take (epochs × steps per epoch).
    public static let maximumSteps = 10_000_000
    /// The most rows the per-epoch shuffles may hold together (epochs × rows).
    public static let maximumOrderedRows = 1 << 27

    /// Throws `TrainerError.nonFiniteTraining` naming the first step whose loss is NaN or
    /// infinite, or the last step when only the trained keys are. (During training each epoch's
    /// losses are checked as soon as they are read back; this is the final check, with the keys.)
    static func requireFinite(losses: [Float], keys: [Float], stepsPerEpoch: Int, epochs: Int) throws {
        if let step = losses.firstIndex(where: { !$0.isFinite }) {
            throw divergence("loss", step: step, stepsPerEpoch: stepsPerEpoch, epochs: epochs)
        }
        if keys.contains(where: { !$0.isFinite }) {
            throw divergence("trained keys", step: max(losses.count - 1, 0), stepsPerEpoch: stepsPerEpoch, epochs: epochs)
        }
    }

    /// The error for `quantity` found non-finite at global step `step` (0-based).
    static func divergence(_ quantity: String, step: Int, stepsPerEpoch: Int, epochs: Int) -> TrainerError {
        .nonFiniteTraining(quantity: quantity, epoch: step / max(stepsPerEpoch, 1) + 1, epochs: epochs,
                           step: step % max(stepsPerEpoch, 1) + 1, stepsPerEpoch: stepsPerEpoch)
    }

    /// The batch-mean cross-entropy of `classifier` on `features` `[rows, dim]` against `labels`,
    /// and its gradient with respect to the keys, `[keys, dim]`: one training step's forward and
    /// backward pass, without the update.
    public func lossAndGradient(
        _ classifier: AdaptedClassifier, features: HostMatrix, labels: [Int]
    ) throws -> (loss: Float, gradient: HostMatrix) {
        try Prototypes.requireCompatible(features: features, labels: labels, textClassifier: classifier.textClassifier)
        guard features.rows > 0 else { throw TrainerError.invalidArgument(name: "features", message: "no rows") }
        let device = try DeviceHead(backend: backend, classifier: classifier, capacity: features.rows)
        let batch = try device.batch(features.rows)
        try backend.write(features.values, to: batch.features)
        try backend.write(try IndexTensor.validated(labels, below: classifier.textClassifier.rows, name: "labels"), to: batch.targets)
        let gradient = try backend.makeTensor(shape: [device.keyCount, device.width])
        try device.lossAndGradient(batch, into: gradient)
        let loss = try backend.makeTensor(shape: [1])
        try backend.reduceSum(batch.losses, scale: 1 / Float(batch.count), into: loss, at: 0)
        return (
            try backend.read(loss)[0],
            try HostMatrix(values: try backend.read(gradient), rows: device.keyCount, columns: device.width))
    }
}
