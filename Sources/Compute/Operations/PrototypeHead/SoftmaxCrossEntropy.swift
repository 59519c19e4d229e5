// =================================================================================================
// SoftmaxCrossEntropy.swift: the `softmaxCrossEntropy` operation of the prototype-head family (Kernels/prototype_head.cl)
//
// Softmax cross-entropy of every row against an integer target, with its gradient.
// Kernel `softmax_cross_entropy`. Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run
// by `ReferenceBackend`), the CPU fast path, the OpenCL launch, and the
// `kernels check` cases. The operation is declared in `TrainingBackend` (TrainerOps.swift).
// =================================================================================================

import Foundation

// MARK: Validation

func validateCrossEntropy(logits: Tensor, targets: Tensor, losses: Tensor, gradient: Tensor) throws -> (rows: Int, classes: Int) {
    let operation = "softmaxCrossEntropy"
    let (rows, classes) = try rowsAndWidth(logits, operation: operation, name: "logits")
    guard targets.count == rows else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "targets", expected: "[\(rows)]", actual: targets.shape)
    }
    guard losses.count == rows else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "losses", expected: "[\(rows)]", actual: losses.shape)
    }
    try requireSameCount(logits, gradient, operation: operation)
    return (rows, classes)
}

// MARK: Host memory

extension HostBackend {
    /// The validated sizes of a `softmaxCrossEntropy` call (rows, classes) and the host memory of
    /// its logits, targets, losses and gradient, in that order.
    func crossEntropyOperands(logits: Tensor, targets: Tensor, losses: Tensor, gradient: Tensor) throws -> (Int, Int, HostPointer, HostPointer, HostPointer, HostPointer) {
        let (rows, classes) = try validateCrossEntropy(logits: logits, targets: targets, losses: losses, gradient: gradient)
        let operation = "softmaxCrossEntropy"
        return (rows, classes, try storage(logits, operation, "logits"), try storage(targets, operation, "targets"),
                try storage(losses, operation, "losses"), try storage(gradient, operation, "gradient"))
    }
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func softmaxCrossEntropy(
        logits: UnsafePointer<Float>, targets: UnsafePointer<Float>, gradientScale: Float,
        losses: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>, rows: Int, classes: Int
    ) {
        for row in 0..<rows {
            let line = logits + row * classes
            var maximum = -Double.infinity
            for column in 0..<classes { maximum = max(maximum, Double(line[column])) }
            var sum = 0.0
            for column in 0..<classes { sum += exp(Double(line[column]) - maximum) }
            let target = Int(targets[row])
            let loss = log(sum) + maximum - Double(line[target])
            var probabilities = [Double](repeating: 0, count: classes)
            for column in 0..<classes { probabilities[column] = exp(Double(line[column]) - maximum) / sum }
            losses[row] = Float(loss)
            for column in 0..<classes {
                let onehot = column == target ? 1.0 : 0.0
                gradient[row * classes + column] = Float(Double(gradientScale) * (probabilities[column] - onehot))
            }
        }
    }
}

extension ReferenceBackend {
    public func softmaxCrossEntropy(
        logits: Tensor, targets: Tensor, gradientScale: Float, losses: Tensor, gradient: Tensor
    ) throws {
        try measured("softmaxCrossEntropy") {
            let (rows, classes, px, pt, ploss, pg) = try crossEntropyOperands(logits: logits, targets: targets, losses: losses, gradient: gradient)
            ReferenceOps.softmaxCrossEntropy(
                logits: px, targets: pt, gradientScale: gradientScale, losses: ploss, gradient: pg, rows: rows, classes: classes)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func softmaxCrossEntropy(
        logits: Tensor, targets: Tensor, gradientScale: Float, losses: Tensor, gradient: Tensor
    ) throws {
        try measured("softmaxCrossEntropy") {
            let (rows, classes, px, pt, ploss, pg) = try crossEntropyOperands(logits: logits, targets: targets, losses: losses, gradient: gradient)
            parallelRows(rows, width: classes) { row in
                let input = px + row * classes, output = pg + row * classes
                let maximum = VectorLoops.maximum(input, count: classes)
                let target = Int(pt[row])
                let targetLogit = input[target]
                let sum = VectorLoops.shiftedExponentials(input, output, count: classes, scale: 1, shift: maximum)
                ploss[row] = logf(sum) + maximum - targetLogit
                VectorLoops.scale(output, output, count: classes, by: gradientScale / sum)
                output[target] -= gradientScale
            }
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func softmaxCrossEntropy(
        logits: Tensor, targets: Tensor, gradientScale: Float, losses: Tensor, gradient: Tensor
    ) throws {
        let (rows, classes) = try validateCrossEntropy(logits: logits, targets: targets, losses: losses, gradient: gradient)
        guard rows > 0 else { return }
        let operation = "softmaxCrossEntropy"
        let group = try fittedGroupSize(.softmaxCrossEntropy, preferred: reductionGroupSize(width: classes, limit: tuning.trainerGroupLimit))
        try launch(.softmaxCrossEntropy, defines: [.groupSize: group], global: [rows * group], local: [group], arguments: [
            .int(Int32(classes)), .float(gradientScale),
            .buffer(try memory(logits, operation, "logits")), .buffer(try memory(targets, operation, "targets")),
            .buffer(try memory(losses, operation, "losses")), .buffer(try memory(gradient, operation, "gradient")),
        ])
    }
}

// MARK: Check cases

extension KernelCheck {
    /// `softmaxCrossEntropy` at the sizes of `trainingCases`.
    static let softmaxCrossEntropyCases: [Case] = {
        var cases: [Case] = []
        for (rows, classes, inPlace) in [(37, 10, false), (37, 1000, true), (1, 1, false)] {
            cases.append(Case(operation: "softmaxCrossEntropy", shape: "[\(rows), \(classes)]\(inPlace ? " in place" : "")",
                              absoluteTolerance: 1e-6, relativeTolerance: 1e-4, run: { backend, inputs in
                let logits = try backend.upload(inputs[0].map { 8 * $0 }, shape: [rows, classes])
                let targets = try backend.upload(integers(inputs[1], below: classes).map(Float.init), shape: [rows])
                let losses = try poisoned(backend, [rows])
                let gradient = inPlace ? logits : try poisoned(backend, [rows, classes])
                try trainingBackend(backend).softmaxCrossEntropy(
                    logits: logits, targets: targets, gradientScale: 1 / Float(rows), losses: losses, gradient: gradient)
                return try backend.read(losses) + backend.read(gradient)
            }, inputCounts: [rows * classes, rows], inputRange: -1...1))
        }
        return cases
    }()
}

extension KernelCheck {
    /// `softmaxCrossEntropy` of logits in [-20, 60] against random targets, gradient scale
    /// 1 / rows into a new gradient and 0.25 over the logits, at one class, a thousand classes
    /// and eleven.
    static let softmaxCrossEntropyTestCases: [Case] = [(37, 11), (5, 1000), (64, 1)].flatMap { rows, classes in
        [false, true].map { inPlace in
            Case(operation: "softmaxCrossEntropy", shape: "[\(rows), \(classes)] (seed \(classes * 7 + rows))\(inPlace ? " in place" : "")",
                 absoluteTolerance: 2e-5, relativeTolerance: 1e-5, run: { backend, inputs in
                     let logits = try backend.upload(inputs[0], shape: [rows, classes])
                     let losses = try poisoned(backend, [rows])
                     let gradient = inPlace ? logits : try poisoned(backend, [rows, classes])
                     try trainingBackend(backend).softmaxCrossEntropy(
                         logits: logits, targets: try backend.upload(inputs[1], shape: [rows]),
                         gradientScale: inPlace ? 0.25 : 1 / Float(rows), losses: losses, gradient: gradient)
                     return try backend.read(losses) + backend.read(gradient)
                 }, inputCounts: [], inputRange: -1...1, fixedInputs: {
                     var generator = SeededGenerator(seed: UInt64(classes * 7 + rows))
                     let logits = generator.uniform(count: rows * classes, in: -20...60)
                     return [logits, (0..<rows).map { _ in Float(Int.random(in: 0..<classes, using: &generator)) }]
                 })
        }
    }
}
