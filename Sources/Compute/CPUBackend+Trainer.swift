import Dispatch
import Foundation

/// The training operations on the host: the plain-loop twin in `.reference` mode, float loops
/// spread over the cores in `.fast` mode.
extension CPUBackend: TrainingBackend {
    public func copyRows(_ source: Tensor, from start: Int, into destination: Tensor) throws {
        let (rows, width) = try validateCopyRows(source, from: start, destination)
        let ps = try storage(source, "copyRows", "source"), pd = try storage(destination, "copyRows", "destination")
        if mode == .reference {
            ReferenceOps.copyRows(ps, from: start, pd, rows: rows, width: width)
            return
        }
        pd.update(from: ps + start * width, count: rows * width)
    }

    public func gatherRows(_ table: Tensor, indices: Tensor, from start: Int, into destination: Tensor) throws {
        let (rows, width) = try validateIndexedGather(table, indices: indices, from: start, destination)
        let pt = try storage(table, "gatherRows", "table"), pi = try storage(indices, "gatherRows", "indices")
        let pd = try storage(destination, "gatherRows", "destination")
        if mode == .reference {
            ReferenceOps.gatherRows(pt, indices: pi, from: start, pd, rows: rows, width: width)
            return
        }
        splitRows(rows, width: width) { row in
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
        if mode == .reference {
            ReferenceOps.prototypeLogits(
                affinity: pa, zeroShotLogits: pz, classOffsets: po, alpha: alpha, beta: beta,
                exponentials: pe, logits: pl, geometry: g)
            return
        }
        let offsets = (0...g.classes).map { Int(po[$0]) }
        splitRows(g.batch, width: g.keys + g.classes) { row in
            let inputRow = pa + row * g.keys, outputRow = pe + row * g.keys
            for key in 0..<g.keys { outputRow[key] = fastExp(beta * (inputRow[key] - 1)) }
            let zeroShotRow = pz + row * g.classes, logitRow = pl + row * g.classes
            for classIndex in 0..<g.classes {
                var sum: Float = 0
                for key in offsets[classIndex]..<offsets[classIndex + 1] { sum += outputRow[key] }
                logitRow[classIndex] = zeroShotRow[classIndex] + alpha * sum
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
        if mode == .reference {
            ReferenceOps.softmaxCrossEntropy(
                logits: px, targets: pt, gradientScale: gradientScale, losses: ploss, gradient: pg, rows: rows, classes: classes)
            return
        }
        splitRows(rows, width: classes) { row in
            let input = px + row * classes, output = pg + row * classes
            var maximum = -Float.infinity
            for column in 0..<classes { maximum = max(maximum, input[column]) }
            let target = Int(pt[row])
            let targetLogit = input[target]
            var sum: Float = 0
            for column in 0..<classes {
                let value = fastExp(input[column] - maximum)
                output[column] = value
                sum += value
            }
            ploss[row] = logf(sum) + maximum - targetLogit
            let factor = gradientScale / sum
            for column in 0..<classes { output[column] *= factor }
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
        if mode == .reference {
            ReferenceOps.prototypeAffinityGradient(
                exponentials: pe, logitGradient: pg, keyClasses: pk, factor: factor, pd, geometry: g)
            return
        }
        let classes = (0..<g.keys).map { Int(pk[$0]) }
        splitRows(g.batch, width: g.keys) { row in
            let input = pe + row * g.keys, upstream = pg + row * g.classes, output = pd + row * g.keys
            for key in 0..<g.keys { output[key] = factor * input[key] * upstream[classes[key]] }
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
        if mode == .reference {
            ReferenceOps.adamWStep(parameters: pp, gradient: pg, firstMoment: pm, secondMoment: pv, count: count, step: step)
            return
        }
        let decay = 1 - step.learningRate * step.weightDecay
        let stepSize = step.learningRate / step.firstCorrection
        let inverseRoot = 1 / step.secondCorrectionRoot
        let beta1 = step.beta1, beta2 = step.beta2, epsilon = step.epsilon
        splitRows((count + 4095) / 4096, width: 4096) { chunk in
            for index in (chunk * 4096)..<min(count, (chunk + 1) * 4096) {
                let g = pg[index]
                let m = beta1 * pm[index] + (1 - beta1) * g
                let v = beta2 * pv[index] + (1 - beta2) * g * g
                pm[index] = m
                pv[index] = v
                pp[index] = pp[index] * decay - stepSize * m / (v.squareRoot() * inverseRoot + epsilon)
            }
        }
    }

    public func rowMaximum(_ x: Tensor, indices: Tensor, maxima: Tensor, asProbability: Bool) throws {
        let (rows, width) = try validateRowMaximum(x, indices: indices, maxima: maxima)
        let px = try storage(x, "rowMaximum", "x"), pi = try storage(indices, "rowMaximum", "indices")
        let pm = try storage(maxima, "rowMaximum", "maxima")
        if mode == .reference {
            ReferenceOps.rowMaximum(px, indices: pi, maxima: pm, rows: rows, width: width, asProbability: asProbability)
            return
        }
        splitRows(rows, width: width) { row in
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
                var sum: Float = 0
                for column in 0..<width { sum += fastExp(line[column] - bestValue) }
                pm[row] = 1 / sum
            } else {
                pm[row] = bestValue
            }
        }
    }

    public func reduceSum(_ x: Tensor, scale: Float, into output: Tensor, at index: Int) throws {
        try validateReduceSum(output, at: index)
        let px = try storage(x, "reduceSum", "x"), po = try storage(output, "reduceSum", "output")
        if mode == .reference {
            ReferenceOps.reduceSum(px, count: x.count, scale: scale, into: po + index)
            return
        }
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

    /// Runs `body` for every row, over the cores when the work pays for the threads.
    private func splitRows(_ rows: Int, width: Int, _ body: (Int) -> Void) {
        let chunks = rows * max(width, 1) < 1 << 15 ? 1 : min(rows, ProcessInfo.processInfo.activeProcessorCount * 4)
        if chunks <= 1 {
            for row in 0..<rows { body(row) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            // The chunks touch disjoint rows; the closure only lives for this call.
            nonisolated(unsafe) let body = escapable
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                for row in (rows * chunk / chunks)..<(rows * (chunk + 1) / chunks) { body(row) }
            }
        }
    }
}
