// =================================================================================================
// AffinityGradient.swift: the `prototypeAffinityGradient` operation of the prototype-head family (Kernels/prototype_head.cl)
//
// The affinity head's backward pass: `dA = α β · E · dlogits[:, keyClasses]`.
// Kernel `prototype_affinity_gradient`. Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run
// by `ReferenceBackend`), the CPU fast path, the OpenCL launch, and the
// `kernels check` cases. The operation is declared in `TrainingBackend` (TrainerOps.swift).
// =================================================================================================

import Foundation

// MARK: Validation

func validateAffinityGradient(
    exponentials: Tensor, logitGradient: Tensor, keyClasses: Tensor, affinityGradient: Tensor
) throws -> HeadGeometry {
    let operation = "prototypeAffinityGradient"
    guard exponentials.rank == 2 else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "exponentials", expected: "[batch, keys]", actual: exponentials.shape)
    }
    let batch = exponentials.shape[0], keys = exponentials.shape[1]
    guard logitGradient.rank == 2, logitGradient.shape[0] == batch else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "logitGradient", expected: "[\(batch), classes]", actual: logitGradient.shape)
    }
    guard keyClasses.count == keys else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "keyClasses", expected: "[\(keys)]", actual: keyClasses.shape)
    }
    try requireSameCount(exponentials, affinityGradient, operation: operation)
    return HeadGeometry(batch: batch, keys: keys, classes: logitGradient.shape[1])
}

// MARK: Host memory

extension HostBackend {
    /// The validated sizes of a `prototypeAffinityGradient` call and the host memory of its
    /// exponentials, logit gradient, key classes and affinity gradient, in that order.
    func affinityGradientOperands(
        exponentials: Tensor, logitGradient: Tensor, keyClasses: Tensor, affinityGradient: Tensor
    ) throws -> (HeadGeometry, HostPointer, HostPointer, HostPointer, HostPointer) {
        let g = try validateAffinityGradient(
            exponentials: exponentials, logitGradient: logitGradient, keyClasses: keyClasses, affinityGradient: affinityGradient)
        let operation = "prototypeAffinityGradient"
        return (g, try storage(exponentials, operation, "exponentials"), try storage(logitGradient, operation, "logitGradient"),
                try storage(keyClasses, operation, "keyClasses"), try storage(affinityGradient, operation, "affinityGradient"))
    }
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func prototypeAffinityGradient(
        exponentials: UnsafePointer<Float>, logitGradient: UnsafePointer<Float>, keyClasses: UnsafePointer<Float>,
        factor: Float, _ affinityGradient: UnsafeMutablePointer<Float>, geometry g: HeadGeometry
    ) {
        for row in 0..<g.batch {
            for key in 0..<g.keys {
                let upstream = Double(logitGradient[row * g.classes + Int(keyClasses[key])])
                affinityGradient[row * g.keys + key] = Float(Double(factor) * Double(exponentials[row * g.keys + key]) * upstream)
            }
        }
    }
}

extension ReferenceBackend {
    public func prototypeAffinityGradient(
        exponentials: Tensor, logitGradient: Tensor, keyClasses: Tensor, factor: Float, into affinityGradient: Tensor
    ) throws {
        try measured("prototypeAffinityGradient") {
            let (g, pe, pg, pk, pd) = try affinityGradientOperands(
                exponentials: exponentials, logitGradient: logitGradient, keyClasses: keyClasses, affinityGradient: affinityGradient)
            ReferenceOps.prototypeAffinityGradient(
                exponentials: pe, logitGradient: pg, keyClasses: pk, factor: factor, pd, geometry: g)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func prototypeAffinityGradient(
        exponentials: Tensor, logitGradient: Tensor, keyClasses: Tensor, factor: Float, into affinityGradient: Tensor
    ) throws {
        try measured("prototypeAffinityGradient") {
            let (g, pe, pg, pk, pd) = try affinityGradientOperands(
                exponentials: exponentials, logitGradient: logitGradient, keyClasses: keyClasses, affinityGradient: affinityGradient)
            let classes = (0..<g.keys).map { Int(pk[$0]) }
            // Mean prototypes: key c belongs to class c, and the pass is one product per element.
            let oneKeyPerClass = g.keys == g.classes && classes.indices.allSatisfy { classes[$0] == $0 }
            classes.withUnsafeBufferPointer { classes in
                parallelRows(g.batch, width: g.keys) { row in
                    let input = pe + row * g.keys, upstream = pg + row * g.classes, output = pd + row * g.keys
                    if oneKeyPerClass {
                        VectorLoops.multiply(input, upstream, by: factor, into: output, count: g.keys)
                        return
                    }
                    for key in 0..<g.keys { output[key] = factor * input[key] * upstream[classes[key]] }
                }
            }
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func prototypeAffinityGradient(
        exponentials: Tensor, logitGradient: Tensor, keyClasses: Tensor, factor: Float, into affinityGradient: Tensor
    ) throws {
        let g = try validateAffinityGradient(
            exponentials: exponentials, logitGradient: logitGradient, keyClasses: keyClasses, affinityGradient: affinityGradient)
        guard g.batch > 0, g.keys > 0 else { return }
        let operation = "prototypeAffinityGradient"
        try launch(.prototypeAffinityGradient, global: [roundUp(g.keys, 16), g.batch], local: nil, arguments: [
            .int(Int32(g.batch)), .int(Int32(g.keys)), .int(Int32(g.classes)), .float(factor),
            .buffer(try memory(exponentials, operation, "exponentials")), .buffer(try memory(logitGradient, operation, "logitGradient")),
            .buffer(try memory(keyClasses, operation, "keyClasses")), .buffer(try memory(affinityGradient, operation, "affinityGradient")),
        ])
    }
}

// MARK: Check cases

extension KernelCheck {
    /// `prototypeAffinityGradient` at the sizes of `trainingCases`.
    static let prototypeAffinityGradientCases: [Case] = {
        var cases: [Case] = []
        for (batch, keys, classes) in [(37, 53, 10), (256, 100, 100)] {
            cases.append(Case(operation: "prototypeAffinityGradient", shape: "[\(batch), \(keys)] keys over \(classes) classes",
                              absoluteTolerance: 1e-6, relativeTolerance: 1e-5, run: { backend, inputs in
                let exponentials = try backend.upload(inputs[0].map { abs($0) }, shape: [batch, keys])
                let logitGradient = try backend.upload(inputs[1], shape: [batch, classes])
                let keyClasses = try backend.upload(keyLayout(inputs[2], keys: keys, classes: classes).keyClasses, shape: [keys])
                let gradient = try poisoned(backend, [batch, keys])
                try trainingBackend(backend).prototypeAffinityGradient(
                    exponentials: exponentials, logitGradient: logitGradient, keyClasses: keyClasses, factor: 13.75, into: gradient)
                return try backend.read(gradient)
            }, inputCounts: [batch * keys, batch * classes, keys], inputRange: -1...1))
        }
        return cases
    }()
}

extension KernelCheck {
    /// `prototypeAffinityGradient` of exponentials in [0, 1] and an upstream gradient in
    /// [-0.1, 0.1] over random key classes, factor 7.25 into a new tensor and -0.5 over the
    /// exponentials.
    static let prototypeAffinityGradientTestCases: [Case] = [(37, 11, 11), (13, 517, 23)].flatMap { batch, keys, classes in
        [false, true].map { inPlace in
            Case(operation: "prototypeAffinityGradient",
                 shape: "[\(batch), \(keys)] keys over \(classes) classes (seed \(keys * 3))\(inPlace ? " in place" : "")",
                 absoluteTolerance: 1e-7, relativeTolerance: 1e-5, run: { backend, inputs in
                     let exponentials = try backend.upload(inputs[0], shape: [batch, keys])
                     let output = inPlace ? exponentials : try poisoned(backend, [batch, keys])
                     try trainingBackend(backend).prototypeAffinityGradient(
                         exponentials: exponentials, logitGradient: try backend.upload(inputs[1], shape: [batch, classes]),
                         keyClasses: try backend.upload(inputs[2], shape: [keys]), factor: inPlace ? -0.5 : 7.25, into: output)
                     return try backend.read(output)
                 }, inputCounts: [], inputRange: -1...1, fixedInputs: {
                     var generator = SeededGenerator(seed: UInt64(keys * 3))
                     let exponentials = generator.uniform(count: batch * keys, in: 0...1)
                     let upstream = generator.uniform(count: batch * classes, in: -0.1...0.1)
                     return [exponentials, upstream, (0..<keys).map { _ in Float(Int.random(in: 0..<classes, using: &generator)) }]
                 })
        }
    }
}
