// =================================================================================================
// AdamW.swift: the `adamWStep` operation of the prototype-head family (Kernels/prototype_head.cl)
//
// One AdamW update of a parameter tensor, in place.
// Kernel `adamw_step`. Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run
// by `ReferenceBackend`), the CPU fast path, the OpenCL launch, and the
// `kernels check` cases. The operation is declared in `TrainingBackend` (TrainerOps.swift).
// =================================================================================================

import CVectorMath
import Foundation

// MARK: Validation

func validateAdamW(parameters: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor) throws {
    for (tensor, name) in [(gradient, "gradient"), (firstMoment, "firstMoment"), (secondMoment, "secondMoment")]
    where tensor.count != parameters.count {
        throw ComputeError.shapeMismatch(
            operation: "adamWStep", tensor: name, expected: "\(parameters.count) elements like the parameters \(parameters.shape)",
            actual: tensor.shape)
    }
    // The CPU pass runs on restrict pointers: the four tensors must not share storage.
    let storages = [parameters, gradient, firstMoment, secondMoment].map { ObjectIdentifier($0.storage) }
    guard Set(storages).count == 4 else {
        throw ComputeError.invalidArgument(
            operation: "adamWStep", message: "parameters, gradient, firstMoment and secondMoment must be four separate tensors")
    }
}

// MARK: Host memory

extension HostBackend {
    /// The host memory of an `adamWStep` call's parameters, gradient and two moments, in that
    /// order, after validation.
    func adamWOperands(parameters: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor) throws -> (HostPointer, HostPointer, HostPointer, HostPointer) {
        try validateAdamW(parameters: parameters, gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment)
        let operation = "adamWStep"
        return (try storage(parameters, operation, "parameters"), try storage(gradient, operation, "gradient"),
                try storage(firstMoment, operation, "firstMoment"), try storage(secondMoment, operation, "secondMoment"))
    }
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func adamWStep(
        parameters: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>,
        firstMoment: UnsafeMutablePointer<Float>, secondMoment: UnsafeMutablePointer<Float>, count: Int, step: AdamWStep
    ) {
        let rate = Double(step.learningRate)
        let beta1 = Double(step.beta1), beta2 = Double(step.beta2)
        for index in 0..<count {
            let g = Double(gradient[index])
            let decayed = Double(parameters[index]) * (1 - rate * Double(step.weightDecay))
            let m = beta1 * Double(firstMoment[index]) + (1 - beta1) * g
            let v = beta2 * Double(secondMoment[index]) + (1 - beta2) * g * g
            let denominator = v.squareRoot() / Double(step.secondCorrectionRoot) + Double(step.epsilon)
            parameters[index] = Float(decayed - rate / Double(step.firstCorrection) * m / denominator)
            firstMoment[index] = Float(m)
            secondMoment[index] = Float(v)
        }
    }
}

extension ReferenceBackend {
    public func adamWStep(
        parameters: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor, step: AdamWStep
    ) throws {
        try measured("adamWStep") {
            let (pp, pg, pm, pv) = try adamWOperands(
                parameters: parameters, gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment)
            let count = parameters.count
            ReferenceOps.adamWStep(parameters: pp, gradient: pg, firstMoment: pm, secondMoment: pv, count: count, step: step)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func adamWStep(
        parameters: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor, step: AdamWStep
    ) throws {
        try measured("adamWStep") {
            let (pp, pg, pm, pv) = try adamWOperands(
                parameters: parameters, gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment)
            let count = parameters.count
            let scalars = vector_adamw_scalars(
                decay: 1 - step.learningRate * step.weightDecay, step_size: step.learningRate / step.firstCorrection,
                inverse_correction_root: 1 / step.secondCorrectionRoot, beta1: step.beta1, beta2: step.beta2, epsilon: step.epsilon)
            // Chunks of 64 Ki elements (a quarter MiB per array) keep small updates on one thread.
            let chunk = 1 << 16
            parallelRows((count + chunk - 1) / chunk, width: chunk) { index in
                let start = index * chunk
                vector_adamw(pp + start, pg + start, pm + start, pv + start, min(chunk, count - start), scalars)
            }
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func adamWStep(
        parameters: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor, step: AdamWStep
    ) throws {
        try validateAdamW(parameters: parameters, gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment)
        let count = parameters.count
        guard count > 0 else { return }
        let operation = "adamWStep"
        try launch(.adamWStep, global: [roundUp(count, 64)], local: nil, arguments: [
            .int(Int32(count)), .float(1 - step.learningRate * step.weightDecay),
            .float(step.learningRate / step.firstCorrection), .float(1 / step.secondCorrectionRoot),
            .float(step.beta1), .float(step.beta2), .float(step.epsilon),
            .buffer(try memory(parameters, operation, "parameters")), .buffer(try memory(gradient, operation, "gradient")),
            .buffer(try memory(firstMoment, operation, "firstMoment")), .buffer(try memory(secondMoment, operation, "secondMoment")),
        ])
    }
}

// MARK: Check cases

extension KernelCheck {
    /// `adamWStep` at the sizes of `trainingCases`.
    static let adamWStepCases: [Case] = {
        var cases: [Case] = []
        for (count, step) in [(53 * 513, 1), (7, 20), (3 << 16 + 5, 3)] {
            cases.append(Case(operation: "adamWStep", shape: "[\(count)] step \(step)", absoluteTolerance: 1e-6, relativeTolerance: 1e-4,
                              run: { backend, inputs in
                let parameters = try backend.upload(inputs[0], shape: [count])
                let gradient = try backend.upload(inputs[1], shape: [count])
                let first = try backend.upload(inputs[2].map { 0.1 * $0 }, shape: [count])
                let second = try backend.upload(inputs[3].map { 0.01 * abs($0) }, shape: [count])
                try trainingBackend(backend).adamWStep(
                    parameters: parameters, gradient: gradient, firstMoment: first, secondMoment: second,
                    step: AdamWStep(learningRate: 1e-3, epsilon: 1e-4, step: step))
                return try backend.read(parameters) + backend.read(first) + backend.read(second)
            }, inputCounts: [count, count, count, count], inputRange: -1...1))
        }
        return cases
    }()
}

extension KernelCheck {
    /// `adamWStep` at step 1 and a later step, on a small tensor and on one that the CPU backend
    /// splits into several chunks with a tail (lr 3e-3, ε 1e-4, weight decay 0.05, seed 99).
    static let adamWStepTestCases: [Case] = [(1, [7, 513]), (7, [7, 513]), (3, [3, 65_547])].map { stepIndex, shape in
        Case(operation: "adamWStep", shape: "\(shape) step \(stepIndex) (seed 99)", absoluteTolerance: 1e-7, relativeTolerance: 1e-5,
             run: { backend, inputs in
                 let tensors = try inputs.map { try backend.upload($0, shape: shape) }
                 try trainingBackend(backend).adamWStep(
                     parameters: tensors[0], gradient: tensors[1], firstMoment: tensors[2], secondMoment: tensors[3],
                     step: AdamWStep(learningRate: 3e-3, epsilon: 1e-4, weightDecay: 0.05, step: stepIndex))
                 return try backend.read(tensors[0]) + backend.read(tensors[2]) + backend.read(tensors[3])
             }, inputCounts: [], inputRange: -1...1, fixedInputs: {
                 var generator = SeededGenerator(seed: 99)
                 let count = shape.elementCount
                 return [generator.uniform(count: count), generator.normal(count: count, standardDeviation: 0.01),
                         generator.normal(count: count, standardDeviation: 0.001), generator.uniform(count: count, in: 0...1e-4)]
             })
    }
}
