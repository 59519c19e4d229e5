// =================================================================================================
// ReduceSum.swift: the `reduceSum` operation of the prototype-head family (Kernels/prototype_head.cl)
//
// `output[index] = scale · Σ x`: per-step losses summed on the device.
// Kernel `reduce_sum`. Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run
// by `ReferenceBackend`), the CPU fast path, the OpenCL launch, and the
// `kernels check` cases. The operation is declared in `TrainingBackend` (TrainerOps.swift).
// =================================================================================================

import Foundation

// MARK: Validation

func validateReduceSum(_ output: Tensor, at index: Int) throws {
    guard index >= 0, index < output.count else {
        throw ComputeError.invalidArgument(operation: "reduceSum", message: "index \(index) outside the output's \(output.count) elements")
    }
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func reduceSum(_ x: UnsafePointer<Float>, count: Int, scale: Float, into output: UnsafeMutablePointer<Float>) {
        var sum = 0.0
        for index in 0..<count { sum += Double(x[index]) }
        output.pointee = Float(Double(scale) * sum)
    }
}

extension ReferenceBackend {
    public func reduceSum(_ x: Tensor, scale: Float, into output: Tensor, at index: Int) throws {
        try measured("reduceSum") {
            try validateReduceSum(output, at: index)
            let px = try storage(x, "reduceSum", "x"), po = try storage(output, "reduceSum", "output")
            ReferenceOps.reduceSum(px, count: x.count, scale: scale, into: po + index)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func reduceSum(_ x: Tensor, scale: Float, into output: Tensor, at index: Int) throws {
        try measured("reduceSum") {
            try validateReduceSum(output, at: index)
            let px = try storage(x, "reduceSum", "x"), po = try storage(output, "reduceSum", "output")
            // Pairwise partial sums in float: eight lanes, then the lanes.
            var lanes = [Float](repeating: 0, count: 8)
            let count = x.count
            var position = 0
            while position + 8 <= count {
                for lane in 0..<8 { lanes[lane] += px[position + lane] }
                position += 8
            }
            var sum: Float = lanes.reduce(0, +)
            while position < count {
                sum += px[position]
                position += 1
            }
            po[index] = scale * sum
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func reduceSum(_ x: Tensor, scale: Float, into output: Tensor, at index: Int) throws {
        try validateReduceSum(output, at: index)
        let group = try fittedGroupSize(.reduceSum, preferred: reductionGroupSize(width: x.count, limit: tuning.trainerGroupLimit))
        try launch(.reduceSum, defines: [.groupSize: group], global: [group], local: [group], arguments: [
            .int(Int32(x.count)), .float(scale), .int(Int32(index)),
            .buffer(try memory(x, "reduceSum", "x")), .buffer(try memory(output, "reduceSum", "output")),
        ])
    }
}

// MARK: Check cases

extension KernelCheck {
    /// `reduceSum` at the sizes of `trainingCases`.
    static let reduceSumCases: [Case] = {
        var cases: [Case] = []
        for count in [1, 37, 53 * 513] {
            cases.append(Case(operation: "reduceSum", shape: "[\(count)] × 0.5 into [3] at 1", absoluteTolerance: 1e-5, relativeTolerance: 1e-4,
                              run: { backend, inputs in
                let x = try backend.upload(inputs[0], shape: [count])
                let output = try backend.upload([7, .nan, 9], shape: [3])
                try trainingBackend(backend).reduceSum(x, scale: 0.5, into: output, at: 1)
                return try backend.read(output)
            }, inputCounts: [count], inputRange: -1...1))
        }
        return cases
    }()
}

extension KernelCheck {
    /// `reduceSum` of values in [0, 3] scaled by 1 / count into element 3 of a zeroed `[5]`.
    static let reduceSumTestCases: [Case] = [1, 37, 256, 4099].map { count in
        Case(operation: "reduceSum", shape: "[\(count)] × 1/\(count) into [5] at 3 (seed \(count))", absoluteTolerance: 1e-5,
             relativeTolerance: 2e-6, run: { backend, inputs in
                 let output = try backend.makeTensor(shape: [5])
                 try backend.fill(output, with: 0)
                 try trainingBackend(backend).reduceSum(
                     try backend.upload(inputs[0], shape: [count]), scale: 1 / Float(count), into: output, at: 3)
                 return try backend.read(output)
             }, inputCounts: [], inputRange: -1...1, fixedInputs: {
                 var generator = SeededGenerator(seed: UInt64(count))
                 return [generator.uniform(count: count, in: 0...3)]
             })
    }
}
