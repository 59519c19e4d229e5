/// The training operations as kernels of `prototype_head.cl`.
extension OpenCLBackend: TrainingBackend {
    public func copyRows(_ source: Tensor, from start: Int, into destination: Tensor) throws {
        let (rows, width) = try validateCopyRows(source, from: start, destination)
        guard rows > 0 else { return }
        try launch(.copyRows, global: [roundUp(width, 16), rows], local: nil, arguments: [
            .int(Int32(rows)), .int(Int32(width)), .int(Int32(start)),
            .buffer(try memory(source, "copyRows", "source")), .buffer(try memory(destination, "copyRows", "destination")),
        ])
    }

    public func gatherRows(_ table: Tensor, indices: Tensor, from start: Int, into destination: Tensor) throws {
        let (rows, width) = try validateIndexedGather(table, indices: indices, from: start, destination)
        guard rows > 0 else { return }
        try launch(.gatherRowsIndexed, global: [roundUp(width, 16), rows], local: nil, arguments: [
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
