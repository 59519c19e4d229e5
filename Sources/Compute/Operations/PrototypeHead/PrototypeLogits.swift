// =================================================================================================
// PrototypeLogits.swift: the `prototypeLogits` operation of the prototype-head family (Kernels/prototype_head.cl)
//
// The affinity head's forward pass: `E = exp(−β (1 − A))`, `logits = zeroShot + α · E · L`.
// Kernel `prototype_logits`. Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run
// by `ReferenceBackend`), the CPU fast path, the OpenCL launch, and the
// `kernels check` cases. The operation is declared in `TrainingBackend` (TrainerOps.swift).
// =================================================================================================

import Foundation

// MARK: Validation

func validatePrototypeLogits(
    affinity: Tensor, zeroShotLogits: Tensor, classOffsets: Tensor, exponentials: Tensor, logits: Tensor
) throws -> HeadGeometry {
    let operation = "prototypeLogits"
    guard affinity.rank == 2 else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "affinity", expected: "[batch, keys]", actual: affinity.shape)
    }
    let batch = affinity.shape[0], keys = affinity.shape[1]
    guard zeroShotLogits.rank == 2, zeroShotLogits.shape[0] == batch else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "zeroShotLogits", expected: "[\(batch), classes]", actual: zeroShotLogits.shape)
    }
    let classes = zeroShotLogits.shape[1]
    guard classOffsets.count == classes + 1 else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "classOffsets", expected: "[\(classes + 1)]", actual: classOffsets.shape)
    }
    guard exponentials.count == batch * keys else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "exponentials", expected: "[\(batch), \(keys)]", actual: exponentials.shape)
    }
    guard logits.count == batch * classes else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "logits", expected: "[\(batch), \(classes)]", actual: logits.shape)
    }
    return HeadGeometry(batch: batch, keys: keys, classes: classes)
}

// MARK: Host memory

extension HostBackend {
    /// The validated sizes of a `prototypeLogits` call and the host memory of its affinity,
    /// zero-shot logits, class offsets, exponentials and logits, in that order.
    func prototypeLogitsOperands(
        affinity: Tensor, zeroShotLogits: Tensor, classOffsets: Tensor, exponentials: Tensor, logits: Tensor
    ) throws -> (HeadGeometry, HostPointer, HostPointer, HostPointer, HostPointer, HostPointer) {
        let g = try validatePrototypeLogits(
            affinity: affinity, zeroShotLogits: zeroShotLogits, classOffsets: classOffsets, exponentials: exponentials, logits: logits)
        let operation = "prototypeLogits"
        return (g, try storage(affinity, operation, "affinity"), try storage(zeroShotLogits, operation, "zeroShotLogits"),
                try storage(classOffsets, operation, "classOffsets"), try storage(exponentials, operation, "exponentials"),
                try storage(logits, operation, "logits"))
    }
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func prototypeLogits(
        affinity: UnsafePointer<Float>, zeroShotLogits: UnsafePointer<Float>, classOffsets: UnsafePointer<Float>,
        alpha: Float, beta: Float, exponentials: UnsafeMutablePointer<Float>, logits: UnsafeMutablePointer<Float>,
        geometry g: HeadGeometry
    ) {
        for row in 0..<g.batch {
            for classIndex in 0..<g.classes {
                var sum = 0.0
                for key in Int(classOffsets[classIndex])..<Int(classOffsets[classIndex + 1]) {
                    let value = exp(-Double(beta) * (1 - Double(affinity[row * g.keys + key])))
                    exponentials[row * g.keys + key] = Float(value)
                    sum += value
                }
                let zeroShot = Double(zeroShotLogits[row * g.classes + classIndex])
                logits[row * g.classes + classIndex] = Float(zeroShot + Double(alpha) * sum)
            }
        }
    }
}

extension ReferenceBackend {
    public func prototypeLogits(
        affinity: Tensor, zeroShotLogits: Tensor, classOffsets: Tensor, alpha: Float, beta: Float,
        exponentials: Tensor, logits: Tensor
    ) throws {
        try measured("prototypeLogits") {
            let (g, pa, pz, po, pe, pl) = try prototypeLogitsOperands(
                affinity: affinity, zeroShotLogits: zeroShotLogits, classOffsets: classOffsets, exponentials: exponentials, logits: logits)
            ReferenceOps.prototypeLogits(
                affinity: pa, zeroShotLogits: pz, classOffsets: po, alpha: alpha, beta: beta,
                exponentials: pe, logits: pl, geometry: g)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func prototypeLogits(
        affinity: Tensor, zeroShotLogits: Tensor, classOffsets: Tensor, alpha: Float, beta: Float,
        exponentials: Tensor, logits: Tensor
    ) throws {
        try measured("prototypeLogits") {
            let (g, pa, pz, po, pe, pl) = try prototypeLogitsOperands(
                affinity: affinity, zeroShotLogits: zeroShotLogits, classOffsets: classOffsets, exponentials: exponentials, logits: logits)
            let offsets = (0...g.classes).map { Int(po[$0]) }
            // Mean prototypes: key c is class c's only key, and the class sums are the exponentials.
            let oneKeyPerClass = g.keys == g.classes && offsets.indices.allSatisfy { offsets[$0] == $0 }
            offsets.withUnsafeBufferPointer { offsets in
                parallelRows(g.batch, width: g.keys + g.classes) { row in
                    let inputRow = pa + row * g.keys, outputRow = pe + row * g.keys
                    _ = VectorLoops.exponentials(inputRow, outputRow, count: g.keys, scale: beta, shift: beta)  // e^(β(a − 1))
                    let zeroShotRow = pz + row * g.classes, logitRow = pl + row * g.classes
                    if oneKeyPerClass {
                        VectorLoops.multiplyAdd(zeroShotRow, outputRow, by: alpha, into: logitRow, count: g.classes)
                        return
                    }
                    for classIndex in 0..<g.classes {
                        var sum: Float = 0
                        for key in offsets[classIndex]..<offsets[classIndex + 1] { sum += outputRow[key] }
                        logitRow[classIndex] = zeroShotRow[classIndex] + alpha * sum
                    }
                }
            }
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func prototypeLogits(
        affinity: Tensor, zeroShotLogits: Tensor, classOffsets: Tensor, alpha: Float, beta: Float,
        exponentials: Tensor, logits: Tensor
    ) throws {
        let g = try validatePrototypeLogits(
            affinity: affinity, zeroShotLogits: zeroShotLogits, classOffsets: classOffsets, exponentials: exponentials, logits: logits)
        guard g.batch > 0, g.classes > 0 else { return }
        let operation = "prototypeLogits"
        try launch(.prototypeLogits, global: [roundUp(g.classes, 16), g.batch], local: nil, arguments: [
            .int(Int32(g.batch)), .int(Int32(g.keys)), .int(Int32(g.classes)), .float(alpha), .float(beta),
            .buffer(try memory(affinity, operation, "affinity")), .buffer(try memory(zeroShotLogits, operation, "zeroShotLogits")),
            .buffer(try memory(classOffsets, operation, "classOffsets")),
            .buffer(try memory(exponentials, operation, "exponentials")), .buffer(try memory(logits, operation, "logits")),
        ])
    }
}

// MARK: Check cases

extension KernelCheck {
    /// `prototypeLogits` at the sizes of `trainingCases`.
    static let prototypeLogitsCases: [Case] = {
        var cases: [Case] = []
        for (batch, keys, classes, inPlace) in [(37, 53, 10, false), (37, 53, 10, true), (256, 100, 100, true)] {
            cases.append(Case(operation: "prototypeLogits", shape: "[\(batch), \(keys)] keys over \(classes) classes\(inPlace ? " in place" : "")",
                              absoluteTolerance: 1e-5, relativeTolerance: 1e-5, run: { backend, inputs in
                let layout = keys == classes
                    ? ((0...classes).map(Float.init), (0..<classes).map(Float.init)) : keyLayout(inputs[2], keys: keys, classes: classes)
                let affinity = try backend.upload(inputs[0], shape: [batch, keys])
                let zeroShot = try backend.upload(inputs[1].map { 10 * $0 }, shape: [batch, classes])
                let offsets = try backend.upload(layout.0, shape: [classes + 1])
                let exponentials = inPlace ? affinity : try poisoned(backend, [batch, keys])
                let logits = inPlace ? zeroShot : try poisoned(backend, [batch, classes])
                try trainingBackend(backend).prototypeLogits(
                    affinity: affinity, zeroShotLogits: zeroShot, classOffsets: offsets, alpha: 2.5, beta: 5.5,
                    exponentials: exponentials, logits: logits)
                return try backend.read(exponentials) + backend.read(logits)
            }, inputCounts: [batch * keys, batch * classes, keys], inputRange: -1...1))
        }
        return cases
    }()
}

extension KernelCheck {
    /// Affinities in [-0.3, 0.9], zero-shot logits in [-5, 25] and class offsets (one key per
    /// class when `keys == classes`, else random counts with some classes empty), seeded by `keys`.
    static func prototypeLogitsTestInputs(batch: Int, keys: Int, classes: Int) -> [[Float]] {
        var generator = SeededGenerator(seed: UInt64(keys))
        let affinity = generator.uniform(count: batch * keys, in: -0.3...0.9)
        let zeroShot = generator.uniform(count: batch * classes, in: -5...25)
        guard keys != classes else { return [affinity, zeroShot, (0...classes).map(Float.init)] }
        var cuts = (0..<(classes - 1)).map { _ in Int.random(in: 0...keys, using: &generator) }.sorted()
        cuts.insert(0, at: 0)
        cuts.append(keys)
        return [affinity, zeroShot, cuts.map(Float.init)]
    }

    /// `prototypeLogits` with α 2.7, β 5.5, into new outputs and in place, at one key per class,
    /// few classes with many keys, and a thousand keys.
    static let prototypeLogitsTestCases: [Case] = [(37, 11, 11), (19, 173, 13), (3, 1001, 97)].flatMap { batch, keys, classes in
        [false, true].map { inPlace in
            Case(operation: "prototypeLogits", shape: "[\(batch), \(keys)] keys over \(classes) classes (seed \(keys))\(inPlace ? " in place" : "")",
                 absoluteTolerance: 1e-5, relativeTolerance: 1e-5, run: { backend, inputs in
                     let affinity = try backend.upload(inputs[0], shape: [batch, keys])
                     let zeroShot = try backend.upload(inputs[1], shape: [batch, classes])
                     let exponentials = inPlace ? affinity : try poisoned(backend, [batch, keys])
                     let logits = inPlace ? zeroShot : try poisoned(backend, [batch, classes])
                     try trainingBackend(backend).prototypeLogits(
                         affinity: affinity, zeroShotLogits: zeroShot, classOffsets: try backend.upload(inputs[2], shape: [classes + 1]),
                         alpha: 2.7, beta: 5.5, exponentials: exponentials, logits: logits)
                     return try backend.read(exponentials) + backend.read(logits)
                 }, inputCounts: [], inputRange: -1...1, fixedInputs: { prototypeLogitsTestInputs(batch: batch, keys: keys, classes: classes) })
        }
    }
}
