// =================================================================================================
// PrototypeHead.swift: one place for the operation family of Kernels/prototype_head.cl
//
// Zero-shot selection and prototype training: row copies and gathers, the affinity head forward and
// backward, softmax cross-entropy, AdamW, row maxima, sum reduction (`Kernels/prototype_head.cl`).
// Here, in this order: shape validation, the plain-loop twin (`ReferenceOps`, run by
// `ReferenceBackend`), the CPU fast path, the OpenCL launch, its `kernels bench` figures (where it
// has some), the profiling wrapper, and the
// `kernels check` cases. Adding an operation to the family means editing this file, its kernel
// and the `Backend` protocol.
// =================================================================================================

import CVectorMath
import Foundation

// MARK: Validation

struct HeadGeometry {
    var batch: Int
    var keys: Int
    var classes: Int
}

func validateCopyRows(_ source: Tensor, from start: Int, _ destination: Tensor) throws -> (rows: Int, width: Int) {
    let operation = "copyRows"
    let (sourceRows, width) = try rowsAndWidth(source, operation: operation, name: "source")
    guard destination.shape.last == width else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "destination", expected: "[…, \(width)]", actual: destination.shape)
    }
    let rows = destination.count / width
    guard start >= 0, start + rows <= sourceRows else {
        throw ComputeError.invalidArgument(
            operation: operation, message: "rows \(start)..<\(start + rows) outside the source's \(sourceRows) rows")
    }
    return (rows, width)
}

func validateIndexedGather(_ table: Tensor, indices: Tensor, from start: Int, _ destination: Tensor) throws -> (rows: Int, width: Int) {
    let operation = "gatherRows"
    let (_, width) = try rowsAndWidth(table, operation: operation, name: "table")
    guard destination.shape.last == width else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "destination", expected: "[…, \(width)]", actual: destination.shape)
    }
    let rows = destination.count / width
    guard start >= 0, start + rows <= indices.count else {
        throw ComputeError.invalidArgument(
            operation: operation, message: "indices \(start)..<\(start + rows) outside the \(indices.count) given")
    }
    return (rows, width)
}

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

func validateRowMaximum(_ x: Tensor, indices: Tensor, maxima: Tensor) throws -> (rows: Int, width: Int) {
    let (rows, width) = try rowsAndWidth(x, operation: "rowMaximum", name: "x")
    guard indices.count == rows else {
        throw ComputeError.shapeMismatch(operation: "rowMaximum", tensor: "indices", expected: "[\(rows)]", actual: indices.shape)
    }
    guard maxima.count == rows else {
        throw ComputeError.shapeMismatch(operation: "rowMaximum", tensor: "maxima", expected: "[\(rows)]", actual: maxima.shape)
    }
    return (rows, width)
}

func validateReduceSum(_ output: Tensor, at index: Int) throws {
    guard index >= 0, index < output.count else {
        throw ComputeError.invalidArgument(operation: "reduceSum", message: "index \(index) outside the output's \(output.count) elements")
    }
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func copyRows(_ source: UnsafePointer<Float>, from start: Int, _ destination: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for row in 0..<rows {
            for column in 0..<width { destination[row * width + column] = source[(start + row) * width + column] }
        }
    }

    static func gatherRows(
        _ table: UnsafePointer<Float>, indices: UnsafePointer<Float>, from start: Int,
        _ destination: UnsafeMutablePointer<Float>, rows: Int, width: Int
    ) {
        for row in 0..<rows {
            let source = Int(indices[start + row])
            for column in 0..<width { destination[row * width + column] = table[source * width + column] }
        }
    }

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

    static func rowMaximum(
        _ x: UnsafePointer<Float>, indices: UnsafeMutablePointer<Float>, maxima: UnsafeMutablePointer<Float>,
        rows: Int, width: Int, asProbability: Bool
    ) {
        for row in 0..<rows {
            var best = 0
            for column in 1..<max(width, 1) {
                let value = x[row * width + column], current = x[row * width + best]
                if value > current || (current.isNaN && !value.isNaN) { best = column }
            }
            indices[row] = Float(best)
            maxima[row] = x[row * width + best]
            if asProbability {
                var sum = 0.0
                for column in 0..<width { sum += exp(Double(x[row * width + column]) - Double(maxima[row])) }
                maxima[row] = Float(1 / sum)
            }
        }
    }

    static func reduceSum(_ x: UnsafePointer<Float>, count: Int, scale: Float, into output: UnsafeMutablePointer<Float>) {
        var sum = 0.0
        for index in 0..<count { sum += Double(x[index]) }
        output.pointee = Float(Double(scale) * sum)
    }
}

extension ReferenceBackend: TrainingBackend {
    public func copyRows(_ source: Tensor, from start: Int, into destination: Tensor) throws {
        let (rows, width) = try validateCopyRows(source, from: start, destination)
        let ps = try storage(source, "copyRows", "source"), pd = try storage(destination, "copyRows", "destination")
        ReferenceOps.copyRows(ps, from: start, pd, rows: rows, width: width)
    }

    public func gatherRows(_ table: Tensor, indices: Tensor, from start: Int, into destination: Tensor) throws {
        let (rows, width) = try validateIndexedGather(table, indices: indices, from: start, destination)
        let pt = try storage(table, "gatherRows", "table"), pi = try storage(indices, "gatherRows", "indices")
        let pd = try storage(destination, "gatherRows", "destination")
        ReferenceOps.gatherRows(pt, indices: pi, from: start, pd, rows: rows, width: width)
    }

    public func prototypeLogits(
        affinity: Tensor, zeroShotLogits: Tensor, classOffsets: Tensor, alpha: Float, beta: Float,
        exponentials: Tensor, logits: Tensor
    ) throws {
        let g = try validatePrototypeLogits(
            affinity: affinity, zeroShotLogits: zeroShotLogits, classOffsets: classOffsets, exponentials: exponentials, logits: logits)
        let operation = "prototypeLogits"
        let pa = try storage(affinity, operation, "affinity"), pz = try storage(zeroShotLogits, operation, "zeroShotLogits")
        let po = try storage(classOffsets, operation, "classOffsets")
        let pe = try storage(exponentials, operation, "exponentials"), pl = try storage(logits, operation, "logits")
        ReferenceOps.prototypeLogits(
            affinity: pa, zeroShotLogits: pz, classOffsets: po, alpha: alpha, beta: beta,
            exponentials: pe, logits: pl, geometry: g)
    }

    public func softmaxCrossEntropy(
        logits: Tensor, targets: Tensor, gradientScale: Float, losses: Tensor, gradient: Tensor
    ) throws {
        let (rows, classes) = try validateCrossEntropy(logits: logits, targets: targets, losses: losses, gradient: gradient)
        let operation = "softmaxCrossEntropy"
        let px = try storage(logits, operation, "logits"), pt = try storage(targets, operation, "targets")
        let ploss = try storage(losses, operation, "losses"), pg = try storage(gradient, operation, "gradient")
        ReferenceOps.softmaxCrossEntropy(
            logits: px, targets: pt, gradientScale: gradientScale, losses: ploss, gradient: pg, rows: rows, classes: classes)
    }

    public func prototypeAffinityGradient(
        exponentials: Tensor, logitGradient: Tensor, keyClasses: Tensor, factor: Float, into affinityGradient: Tensor
    ) throws {
        let g = try validateAffinityGradient(
            exponentials: exponentials, logitGradient: logitGradient, keyClasses: keyClasses, affinityGradient: affinityGradient)
        let operation = "prototypeAffinityGradient"
        let pe = try storage(exponentials, operation, "exponentials"), pg = try storage(logitGradient, operation, "logitGradient")
        let pk = try storage(keyClasses, operation, "keyClasses"), pd = try storage(affinityGradient, operation, "affinityGradient")
        ReferenceOps.prototypeAffinityGradient(
            exponentials: pe, logitGradient: pg, keyClasses: pk, factor: factor, pd, geometry: g)
    }

    public func adamWStep(
        parameters: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor, step: AdamWStep
    ) throws {
        try validateAdamW(parameters: parameters, gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment)
        let operation = "adamWStep"
        let pp = try storage(parameters, operation, "parameters"), pg = try storage(gradient, operation, "gradient")
        let pm = try storage(firstMoment, operation, "firstMoment"), pv = try storage(secondMoment, operation, "secondMoment")
        let count = parameters.count
        ReferenceOps.adamWStep(parameters: pp, gradient: pg, firstMoment: pm, secondMoment: pv, count: count, step: step)
    }

    public func rowMaximum(_ x: Tensor, indices: Tensor, maxima: Tensor, asProbability: Bool) throws {
        let (rows, width) = try validateRowMaximum(x, indices: indices, maxima: maxima)
        let px = try storage(x, "rowMaximum", "x"), pi = try storage(indices, "rowMaximum", "indices")
        let pm = try storage(maxima, "rowMaximum", "maxima")
        ReferenceOps.rowMaximum(px, indices: pi, maxima: pm, rows: rows, width: width, asProbability: asProbability)
    }

    public func reduceSum(_ x: Tensor, scale: Float, into output: Tensor, at index: Int) throws {
        try validateReduceSum(output, at: index)
        let px = try storage(x, "reduceSum", "x"), po = try storage(output, "reduceSum", "output")
        ReferenceOps.reduceSum(px, count: x.count, scale: scale, into: po + index)
    }
}

// MARK: CPU fast path

extension CPUBackend: TrainingBackend {
    public func copyRows(_ source: Tensor, from start: Int, into destination: Tensor) throws {
        let (rows, width) = try validateCopyRows(source, from: start, destination)
        let ps = try storage(source, "copyRows", "source"), pd = try storage(destination, "copyRows", "destination")
        pd.update(from: ps + start * width, count: rows * width)
    }

    public func gatherRows(_ table: Tensor, indices: Tensor, from start: Int, into destination: Tensor) throws {
        let (rows, width) = try validateIndexedGather(table, indices: indices, from: start, destination)
        let pt = try storage(table, "gatherRows", "table"), pi = try storage(indices, "gatherRows", "indices")
        let pd = try storage(destination, "gatherRows", "destination")
        // Copies pay for the threads only from about 1 MiB (a training batch's rows stay on one).
        parallelRows(rows, width: width, minimumWork: 1 << 18) { row in
            (pd + row * width).update(from: pt + Int(pi[start + row]) * width, count: width)
        }
    }

    public func prototypeLogits(
        affinity: Tensor, zeroShotLogits: Tensor, classOffsets: Tensor, alpha: Float, beta: Float,
        exponentials: Tensor, logits: Tensor
    ) throws {
        let g = try validatePrototypeLogits(
            affinity: affinity, zeroShotLogits: zeroShotLogits, classOffsets: classOffsets, exponentials: exponentials, logits: logits)
        let operation = "prototypeLogits"
        let pa = try storage(affinity, operation, "affinity"), pz = try storage(zeroShotLogits, operation, "zeroShotLogits")
        let po = try storage(classOffsets, operation, "classOffsets")
        let pe = try storage(exponentials, operation, "exponentials"), pl = try storage(logits, operation, "logits")
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

    public func softmaxCrossEntropy(
        logits: Tensor, targets: Tensor, gradientScale: Float, losses: Tensor, gradient: Tensor
    ) throws {
        let (rows, classes) = try validateCrossEntropy(logits: logits, targets: targets, losses: losses, gradient: gradient)
        let operation = "softmaxCrossEntropy"
        let px = try storage(logits, operation, "logits"), pt = try storage(targets, operation, "targets")
        let ploss = try storage(losses, operation, "losses"), pg = try storage(gradient, operation, "gradient")
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

    public func prototypeAffinityGradient(
        exponentials: Tensor, logitGradient: Tensor, keyClasses: Tensor, factor: Float, into affinityGradient: Tensor
    ) throws {
        let g = try validateAffinityGradient(
            exponentials: exponentials, logitGradient: logitGradient, keyClasses: keyClasses, affinityGradient: affinityGradient)
        let operation = "prototypeAffinityGradient"
        let pe = try storage(exponentials, operation, "exponentials"), pg = try storage(logitGradient, operation, "logitGradient")
        let pk = try storage(keyClasses, operation, "keyClasses"), pd = try storage(affinityGradient, operation, "affinityGradient")
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

    public func adamWStep(
        parameters: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor, step: AdamWStep
    ) throws {
        try validateAdamW(parameters: parameters, gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment)
        let operation = "adamWStep"
        let pp = try storage(parameters, operation, "parameters"), pg = try storage(gradient, operation, "gradient")
        let pm = try storage(firstMoment, operation, "firstMoment"), pv = try storage(secondMoment, operation, "secondMoment")
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

    public func rowMaximum(_ x: Tensor, indices: Tensor, maxima: Tensor, asProbability: Bool) throws {
        let (rows, width) = try validateRowMaximum(x, indices: indices, maxima: maxima)
        let px = try storage(x, "rowMaximum", "x"), pi = try storage(indices, "rowMaximum", "indices")
        let pm = try storage(maxima, "rowMaximum", "maxima")
        parallelRows(rows, width: width) { row in
            let line = px + row * width
            var best = 0, bestValue = line[0]
            for column in 1..<max(width, 1) {
                let value = line[column]
                if value > bestValue || (bestValue.isNaN && !value.isNaN) {
                    best = column
                    bestValue = value
                }
            }
            pi[row] = Float(best)
            if asProbability {
                pm[row] = 1 / VectorLoops.shiftedExponentials(line, nil, count: width, scale: 1, shift: bestValue)
            } else {
                pm[row] = bestValue
            }
        }
    }

    public func reduceSum(_ x: Tensor, scale: Float, into output: Tensor, at index: Int) throws {
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

// MARK: OpenCL

extension OpenCLBackend: TrainingBackend {
    public func copyRows(_ source: Tensor, from start: Int, into destination: Tensor) throws {
        let (rows, width) = try validateCopyRows(source, from: start, destination)
        guard rows * width > 0 else { return }
        // One dimension over the output's elements: GPU grids cap dimensions 1 and 2 at 65 535 groups.
        try launch(.copyRows, global: [roundUp(rows * width, 64)], local: nil, arguments: [
            .int(Int32(rows)), .int(Int32(width)), .int(Int32(start)),
            .buffer(try memory(source, "copyRows", "source")), .buffer(try memory(destination, "copyRows", "destination")),
        ])
    }

    public func gatherRows(_ table: Tensor, indices: Tensor, from start: Int, into destination: Tensor) throws {
        let (rows, width) = try validateIndexedGather(table, indices: indices, from: start, destination)
        guard rows * width > 0 else { return }
        try launch(.gatherRowsIndexed, global: [roundUp(rows * width, 64)], local: nil, arguments: [
            .int(Int32(rows)), .int(Int32(width)), .int(Int32(start)),
            .buffer(try memory(table, "gatherRows", "table")), .buffer(try memory(indices, "gatherRows", "indices")),
            .buffer(try memory(destination, "gatherRows", "destination")),
        ])
    }

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

    public func rowMaximum(_ x: Tensor, indices: Tensor, maxima: Tensor, asProbability: Bool) throws {
        let (rows, width) = try validateRowMaximum(x, indices: indices, maxima: maxima)
        guard rows > 0 else { return }
        let group = try fittedGroupSize(.rowMaximum, preferred: reductionGroupSize(width: width, limit: tuning.trainerGroupLimit))
        try launch(.rowMaximum, defines: [.groupSize: group], global: [rows * group], local: [group], arguments: [
            .int(Int32(width)), .int(asProbability ? 1 : 0), .buffer(try memory(x, "rowMaximum", "x")),
            .buffer(try memory(indices, "rowMaximum", "indices")), .buffer(try memory(maxima, "rowMaximum", "maxima")),
        ])
    }

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
    /// Integers in `0 ..< bound` drawn from uniform [-1, 1] inputs, so that every run of a case
    /// draws fresh indices from its random inputs.
    static func integers(_ values: [Float], below bound: Int) -> [Int] {
        values.map { min(bound - 1, max(0, Int((($0 + 1) / 2 * Float(bound)).rounded(.down)))) }
    }

    /// `keys` keys spread over `classes` classes (some classes may get none): the class offsets
    /// `[classes + 1]` and the class of each key, both as integral floats.
    static func keyLayout(_ values: [Float], keys: Int, classes: Int) -> (offsets: [Float], keyClasses: [Float]) {
        let keyClasses = integers(values, below: classes).sorted()
        var offsets = [Int](repeating: 0, count: classes + 1)
        for keyClass in keyClasses { offsets[keyClass + 1] += 1 }
        for index in 0..<classes { offsets[index + 1] += offsets[index] }
        return (offsets.map(Float.init), keyClasses.map(Float.init))
    }

    /// The training operations (`prototype_head.cl` on OpenCL): every output of each checked,
    /// concatenated, at odd sizes (37 rows, 53 keys over 10 classes, 1000-wide rows).
    static let trainingCases: [Case] = {
        var cases: [Case] = []
        cases.append(Case(operation: "copyRows", shape: "[50, 77] rows 11..<48", absoluteTolerance: 0, relativeTolerance: 0,
                          run: { backend, inputs in
            let source = try backend.upload(inputs[0], shape: [50, 77]), destination = try poisoned(backend, [37, 77])
            try trainingBackend(backend).copyRows(source, from: 11, into: destination)
            return try backend.read(destination)
        }, inputCounts: [50 * 77], inputRange: -1...1))
        cases.append(Case(operation: "gatherRows (indices on device)", shape: "[50, 513] → [37, 513] from 5",
                          absoluteTolerance: 0, relativeTolerance: 0, run: { backend, inputs in
            let table = try backend.upload(inputs[0], shape: [50, 513])
            let indices = try backend.upload(integers(inputs[1], below: 50).map(Float.init), shape: [42])
            let destination = try poisoned(backend, [37, 513])
            try trainingBackend(backend).gatherRows(table, indices: indices, from: 5, into: destination)
            return try backend.read(destination)
        }, inputCounts: [50 * 513, 42], inputRange: -1...1))
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
        for (rows, width, asProbability) in [(37, 10, false), (37, 1000, true), (3, 1, true), (100, 513, false)] {
            cases.append(Case(operation: "rowMaximum", shape: "[\(rows), \(width)]\(asProbability ? " as probability" : "")",
                              absoluteTolerance: 1e-6, relativeTolerance: 1e-5, run: { backend, inputs in
                // Rounded values give ties, which must resolve to the lowest column.
                let x = try backend.upload(inputs[0].map { ($0 * 20).rounded() }, shape: [rows, width])
                let indices = try poisoned(backend, [rows]), maxima = try poisoned(backend, [rows])
                try trainingBackend(backend).rowMaximum(x, indices: indices, maxima: maxima, asProbability: asProbability)
                return try backend.read(indices) + backend.read(maxima)
            }, inputCounts: [rows * width], inputRange: -1...1))
        }
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

// MARK: Profiling wrapper

/// The training operations, timed like the others when the wrapped backend has them.
extension ProfilingBackend: TrainingBackend {
    private var training: any TrainingBackend {
        get throws { try trainingBackend(base) }
    }

    public func copyRows(_ source: Tensor, from start: Int, into destination: Tensor) throws {
        try measure("copyRows") { try training.copyRows(source, from: start, into: destination) }
    }
    public func gatherRows(_ table: Tensor, indices: Tensor, from start: Int, into destination: Tensor) throws {
        try measure("gatherRows (device indices)") { try training.gatherRows(table, indices: indices, from: start, into: destination) }
    }
    public func prototypeLogits(
        affinity: Tensor, zeroShotLogits: Tensor, classOffsets: Tensor, alpha: Float, beta: Float, exponentials: Tensor, logits: Tensor
    ) throws {
        try measure("prototypeLogits") {
            try training.prototypeLogits(affinity: affinity, zeroShotLogits: zeroShotLogits, classOffsets: classOffsets, alpha: alpha,
                                         beta: beta, exponentials: exponentials, logits: logits)
        }
    }
    public func softmaxCrossEntropy(logits: Tensor, targets: Tensor, gradientScale: Float, losses: Tensor, gradient: Tensor) throws {
        try measure("softmaxCrossEntropy") {
            try training.softmaxCrossEntropy(logits: logits, targets: targets, gradientScale: gradientScale, losses: losses, gradient: gradient)
        }
    }
    public func prototypeAffinityGradient(
        exponentials: Tensor, logitGradient: Tensor, keyClasses: Tensor, factor: Float, into affinityGradient: Tensor
    ) throws {
        try measure("prototypeAffinityGradient") {
            try training.prototypeAffinityGradient(exponentials: exponentials, logitGradient: logitGradient, keyClasses: keyClasses,
                                                   factor: factor, into: affinityGradient)
        }
    }
    public func adamWStep(parameters: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor, step: AdamWStep) throws {
        try measure("adamWStep") {
            try training.adamWStep(parameters: parameters, gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment, step: step)
        }
    }
    public func rowMaximum(_ x: Tensor, indices: Tensor, maxima: Tensor, asProbability: Bool) throws {
        try measure("rowMaximum") { try training.rowMaximum(x, indices: indices, maxima: maxima, asProbability: asProbability) }
    }
    public func reduceSum(_ x: Tensor, scale: Float, into output: Tensor, at index: Int) throws {
        try measure("reduceSum") { try training.reduceSum(x, scale: scale, into: output, at: index) }
    }
}
