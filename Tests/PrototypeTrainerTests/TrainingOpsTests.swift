import Compute
import Testing

/// Every training operation, on the CPU fast path and OpenCL, against the plain-loop twin: fresh
/// random inputs at odd sizes, outputs NaN-poisoned first.
@Suite struct TrainingOpsTests {
    /// Uploads `inputs` to the twin and to every backend under test, runs `operation` (which
    /// makes its outputs with `poisoned` and returns the tensors to compare), and compares them.
    private func compareWithTwin(
        inputs: [(values: [Float], shape: [Int])], absolute: Float = 1e-5, relative: Float = 1e-5,
        _ label: String, _ operation: (any TrainingBackend, [Tensor]) throws -> [Tensor]
    ) throws {
        func run(_ backend: any TrainingBackend) throws -> [[Float]] {
            let inputTensors = try inputs.map { try backend.upload($0.values, shape: $0.shape) }
            return try operation(backend, inputTensors).map { try backend.read($0) }
        }
        let expected = try run(TestBackends.reference)
        for output in expected { #expect(!output.contains { $0.isNaN }, "\(label): the twin left NaN in an output") }
        for backend in try TestBackends.underTest {
            let actual = try run(backend)
            #expect(actual.count == expected.count)
            for (index, pair) in zip(actual, expected).enumerated() {
                expectClose(pair.0, pair.1, absolute: absolute, relative: relative, "\(label) on \(backend.name), output \(index)")
            }
        }
    }

    /// Class offsets for `keys` keys over `classes` classes with random counts, some classes empty.
    private func randomOffsets(keys: Int, classes: Int, generator: inout SeededGenerator) -> [Int] {
        var cuts = (0..<(classes - 1)).map { _ in Int.random(in: 0...keys, using: &generator) }.sorted()
        cuts.insert(0, at: 0)
        cuts.append(keys)
        return cuts
    }

    @Test func copyRowsAndIndexedGather() throws {
        var generator = SeededGenerator(seed: 11)
        let rows = 41, width = 77, start = 5, count = 29
        let table = generator.uniform(count: rows * width)
        let indices = (0..<(start + count)).map { _ in Float(Int.random(in: 0..<rows, using: &generator)) }
        try compareWithTwin(inputs: [(table, [rows, width])], absolute: 0, relative: 0, "copyRows") { backend, input in
            let output = try poisoned(backend, shape: [count, width])
            try backend.copyRows(input[0], from: start, into: output)
            return [output]
        }
        try compareWithTwin(inputs: [(table, [rows, width]), (indices, [indices.count])], absolute: 0, relative: 0, "gatherRows") {
            backend, input in
            let output = try poisoned(backend, shape: [count, width])
            try backend.gatherRows(input[0], indices: input[1], from: start, into: output)
            return [output]
        }
    }

    @Test(arguments: [(batch: 37, keys: 11, classes: 11), (batch: 19, keys: 173, classes: 13), (batch: 3, keys: 1001, classes: 97)])
    func prototypeLogits(sizes: (batch: Int, keys: Int, classes: Int)) throws {
        var generator = SeededGenerator(seed: UInt64(sizes.keys))
        let affinity = generator.uniform(count: sizes.batch * sizes.keys, in: -0.3...0.9)
        let zeroShot = generator.uniform(count: sizes.batch * sizes.classes, in: -5...25)
        let offsets = sizes.keys == sizes.classes
            ? Array(0...sizes.classes) : randomOffsets(keys: sizes.keys, classes: sizes.classes, generator: &generator)
        let inputs: [(values: [Float], shape: [Int])] = [
            (affinity, [sizes.batch, sizes.keys]), (zeroShot, [sizes.batch, sizes.classes]), (offsets.map(Float.init), [sizes.classes + 1]),
        ]
        try compareWithTwin(inputs: inputs, "prototypeLogits") { backend, input in
            let exponentials = try poisoned(backend, shape: [sizes.batch, sizes.keys])
            let logits = try poisoned(backend, shape: [sizes.batch, sizes.classes])
            try backend.prototypeLogits(
                affinity: input[0], zeroShotLogits: input[1], classOffsets: input[2], alpha: 2.7, beta: 5.5,
                exponentials: exponentials, logits: logits)
            return [exponentials, logits]
        }
        // In place: E over A and the logits over the zero-shot logits.
        try compareWithTwin(inputs: inputs, "prototypeLogits in place") { backend, input in
            try backend.prototypeLogits(
                affinity: input[0], zeroShotLogits: input[1], classOffsets: input[2], alpha: 2.7, beta: 5.5,
                exponentials: input[0], logits: input[1])
            return [input[0], input[1]]
        }
    }

    @Test(arguments: [(rows: 37, classes: 11), (rows: 5, classes: 1000), (rows: 64, classes: 1)])
    func softmaxCrossEntropy(sizes: (rows: Int, classes: Int)) throws {
        var generator = SeededGenerator(seed: UInt64(sizes.classes * 7 + sizes.rows))
        let logits = generator.uniform(count: sizes.rows * sizes.classes, in: -20...60)
        let targets = (0..<sizes.rows).map { _ in Float(Int.random(in: 0..<sizes.classes, using: &generator)) }
        let inputs: [(values: [Float], shape: [Int])] = [(logits, [sizes.rows, sizes.classes]), (targets, [sizes.rows])]
        try compareWithTwin(inputs: inputs, absolute: 2e-5, "softmaxCrossEntropy") { backend, input in
            let losses = try poisoned(backend, shape: [sizes.rows]), gradient = try poisoned(backend, shape: [sizes.rows, sizes.classes])
            try backend.softmaxCrossEntropy(
                logits: input[0], targets: input[1], gradientScale: 1 / Float(sizes.rows), losses: losses, gradient: gradient)
            return [losses, gradient]
        }
        // The gradient may overwrite the logits.
        try compareWithTwin(inputs: inputs, absolute: 2e-5, "softmaxCrossEntropy in place") { backend, input in
            let losses = try poisoned(backend, shape: [sizes.rows])
            try backend.softmaxCrossEntropy(logits: input[0], targets: input[1], gradientScale: 0.25, losses: losses, gradient: input[0])
            return [losses, input[0]]
        }
    }

    @Test(arguments: [(batch: 37, keys: 11, classes: 11), (batch: 13, keys: 517, classes: 23)])
    func prototypeAffinityGradient(sizes: (batch: Int, keys: Int, classes: Int)) throws {
        var generator = SeededGenerator(seed: UInt64(sizes.keys * 3))
        let exponentials = generator.uniform(count: sizes.batch * sizes.keys, in: 0...1)
        let upstream = generator.uniform(count: sizes.batch * sizes.classes, in: -0.1...0.1)
        let keyClasses = (0..<sizes.keys).map { _ in Float(Int.random(in: 0..<sizes.classes, using: &generator)) }
        let inputs: [(values: [Float], shape: [Int])] = [
            (exponentials, [sizes.batch, sizes.keys]), (upstream, [sizes.batch, sizes.classes]), (keyClasses, [sizes.keys]),
        ]
        try compareWithTwin(inputs: inputs, absolute: 1e-7, "prototypeAffinityGradient") { backend, input in
            let output = try poisoned(backend, shape: [sizes.batch, sizes.keys])
            try backend.prototypeAffinityGradient(
                exponentials: input[0], logitGradient: input[1], keyClasses: input[2], factor: 7.25, into: output)
            return [output]
        }
        try compareWithTwin(inputs: inputs, absolute: 1e-7, "prototypeAffinityGradient in place") { backend, input in
            try backend.prototypeAffinityGradient(
                exponentials: input[0], logitGradient: input[1], keyClasses: input[2], factor: -0.5, into: input[0])
            return [input[0]]
        }
    }

    /// Step 1 and a later step, on a small tensor and on one that the CPU backend splits into
    /// several chunks with a tail.
    @Test(arguments: [(1, [7, 513]), (7, [7, 513]), (3, [3, 65_547])])
    func adamWStep(stepIndex: Int, shape: [Int]) throws {
        var generator = SeededGenerator(seed: 99)
        let count = shape.reduce(1, *)
        let inputs: [(values: [Float], shape: [Int])] = [
            (generator.uniform(count: count), shape), (generator.normal(count: count, standardDeviation: 0.01), shape),
            (generator.normal(count: count, standardDeviation: 0.001), shape), (generator.uniform(count: count, in: 0...1e-4), shape),
        ]
        let step = AdamWStep(learningRate: 3e-3, epsilon: 1e-4, weightDecay: 0.05, step: stepIndex)
        try compareWithTwin(inputs: inputs, absolute: 1e-7, relative: 1e-5, "adamWStep \(stepIndex)") { backend, input in
            try backend.adamWStep(parameters: input[0], gradient: input[1], firstMoment: input[2], secondMoment: input[3], step: step)
            return [input[0], input[2], input[3]]
        }
    }

    @Test("adamWStep refuses tensors that share storage, on every backend")
    func adamWStepRefusesSharedStorage() throws {
        for backend in try TestBackends.all {
            let parameters = try backend.upload([1, 2, 3], shape: [3]), moment = try backend.upload([0, 0, 0], shape: [3])
            let gradient = try backend.upload([0.1, 0.2, 0.3], shape: [3])
            #expect(throws: ComputeError.self, "\(backend.name)") {
                try backend.adamWStep(parameters: parameters, gradient: gradient, firstMoment: moment, secondMoment: moment,
                                      step: AdamWStep(learningRate: 1e-3, step: 1))
            }
            #expect(try backend.read(parameters) == [1, 2, 3], "\(backend.name): nothing was written")
        }
    }

    @Test(arguments: [(rows: 37, width: 11), (rows: 6, width: 1000), (rows: 50, width: 1)])
    func rowMaximum(sizes: (rows: Int, width: Int)) throws {
        var generator = SeededGenerator(seed: UInt64(sizes.width + 1))
        // Few distinct values, so that ties are common and the lowest column must win.
        var x = (0..<(sizes.rows * sizes.width)).map { _ in Float(Int.random(in: 0..<5, using: &generator)) }
        if sizes.width > 2 {
            x[0] = .nan
            x[sizes.width + 1] = .nan
        }
        try compareWithTwin(inputs: [(x, [sizes.rows, sizes.width])], absolute: 0, relative: 0, "rowMaximum") { backend, input in
            let indices = try poisoned(backend, shape: [sizes.rows]), maxima = try poisoned(backend, shape: [sizes.rows])
            try backend.rowMaximum(input[0], indices: indices, maxima: maxima)
            return [indices, maxima]
        }
    }

    @Test(arguments: [(rows: 37, width: 11), (rows: 6, width: 1000), (rows: 50, width: 1)])
    func rowMaximumAsProbability(sizes: (rows: Int, width: Int)) throws {
        var generator = SeededGenerator(seed: UInt64(sizes.width + 2))
        let x = generator.uniform(count: sizes.rows * sizes.width, in: -30...30)
        try compareWithTwin(inputs: [(x, [sizes.rows, sizes.width])], absolute: 1e-6, relative: 1e-5, "rowMaximum as probability") {
            backend, input in
            let indices = try poisoned(backend, shape: [sizes.rows]), maxima = try poisoned(backend, shape: [sizes.rows])
            try backend.rowMaximum(input[0], indices: indices, maxima: maxima, asProbability: true)
            return [indices, maxima]
        }
    }

    @Test(arguments: [1, 37, 256, 4099])
    func reduceSum(count: Int) throws {
        var generator = SeededGenerator(seed: UInt64(count))
        let x = generator.uniform(count: count, in: 0...3)
        try compareWithTwin(inputs: [(x, [count])], absolute: 1e-5, relative: 2e-6, "reduceSum") { backend, input in
            let output = try backend.makeTensor(shape: [5])
            try backend.fill(output, with: 0)
            try backend.reduceSum(input[0], scale: 1 / Float(count), into: output, at: 3)
            return [output]
        }
    }

    @Test func openCLRunsWhereInstalled() throws {
        if let devices = try? OpenCLDiscovery.devices(), !devices.isEmpty {
            #expect(try TestBackends.openCL != nil, "an OpenCL device is listed but the backend did not open")
        }
    }

    @Test func invalidShapesAreRejected() throws {
        for backend in try TestBackends.all {
            let a = try backend.makeTensor(shape: [4, 6]), z = try backend.makeTensor(shape: [4, 3])
            let offsets = try backend.makeTensor(shape: [3])
            #expect(throws: ComputeError.self) {
                try backend.prototypeLogits(affinity: a, zeroShotLogits: z, classOffsets: offsets, alpha: 1, beta: 1, exponentials: a, logits: z)
            }
            #expect(throws: ComputeError.self) { try backend.copyRows(a, from: 2, into: try backend.makeTensor(shape: [3, 6])) }
            #expect(throws: ComputeError.self) { try backend.reduceSum(a, scale: 1, into: z, at: 12) }
        }
        #expect(throws: ComputeError.self) { try IndexTensor.validated([0, 3, 5], below: 5, name: "labels") }
    }
}
