/// Runs every operation of a backend against the plain-loop CPU twin on a fixed list of shapes
/// (odd sizes, inner dimensions that are no multiple of any tile), with fresh random inputs and
/// the output poisoned with NaN before each run. Used by `upadapter kernels check` and the tests.
public enum KernelCheck {
    /// One operation at one shape.
    public struct Case: Sendable {
        /// Operation name, e.g. `matmul`.
        public let operation: String
        /// Shape and options, e.g. `[12×50×64]·[12×50×64]ᵀ`.
        public let shape: String
        let absoluteTolerance: Float
        let relativeTolerance: Float
        /// Runs the operation on `backend`; returns its output.
        let run: @Sendable (_ backend: any Backend, _ inputs: [[Float]]) throws -> [Float]
        /// Shapes of the random inputs (values uniform in [-1, 1] unless `inputRange` says otherwise).
        let inputCounts: [Int]
        let inputRange: ClosedRange<Float>
    }

    /// The outcome of one case.
    public struct Result: Sendable {
        public let operation: String
        public let shape: String
        public let comparison: Comparison
        public var passed: Bool { comparison.passed }
    }

    /// Runs every case on `backend` and compares with `CPUBackend(mode: .reference)`.
    /// - Throws: the first error an operation raises (a thrown error is a failure, not a skip).
    public static func run(on backend: any Backend, seed: UInt64 = 2024, cases: [Case] = standardCases) throws -> [Result] {
        let reference = CPUBackend(mode: .reference)
        var generator = SeededGenerator(seed: seed)
        return try cases.map { testCase in
            let inputs = testCase.inputCounts.map { generator.uniform(count: $0, in: testCase.inputRange) }
            let expected = try testCase.run(reference, inputs)
            let actual = try testCase.run(backend, inputs)
            return Result(operation: testCase.operation, shape: testCase.shape, comparison: Comparison(
                actual: actual, expected: expected,
                absoluteTolerance: testCase.absoluteTolerance, relativeTolerance: testCase.relativeTolerance))
        }
    }

    /// Allocates `shape` on `backend` and fills it with NaN, so that an element the operation
    /// forgets to write fails the comparison.
    static func poisoned(_ backend: any Backend, _ shape: [Int]) throws -> Tensor {
        let tensor = try backend.makeTensor(shape: shape)
        try backend.fill(tensor, with: .nan)
        return tensor
    }

    // MARK: Cases

    static func matmulCase(
        batch: Int = 1, m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
        sharedB: Bool = false, bias: Bool = false, beta: Float = 0, alpha: Float = 1, activation: Activation? = nil
    ) -> Case {
        let batchB = sharedB ? 1 : batch
        let shapeA = transposeA ? [batch, k, m] : [batch, m, k]
        let shapeB = transposeB ? [batchB, n, k] : [batchB, k, n]
        var label = "\(batch > 1 ? "\(batch)×" : "")\(m)×\(k)\(transposeA ? "(Aᵀ)" : "") · \(k)×\(n)\(transposeB ? "(Bᵀ)" : "")"
        if sharedB { label += " shared B" }
        if bias { label += " +bias" }
        if beta != 0 { label += " β=\(beta)" }
        if alpha != 1 { label += " α=\(alpha)" }
        if let activation { label += " then \(activation) (fused)" }
        let options = MatmulOptions(transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: beta, activation: activation)
        var counts = [shapeA.elementCount, shapeB.elementCount, n]
        if beta != 0 { counts.append(batch * m * n) }
        return Case(
            operation: "matmul", shape: label, absoluteTolerance: 2e-6 * Float(k) + 1e-5, relativeTolerance: 1e-4,
            run: { backend, inputs in
                let a = try backend.upload(inputs[0], shape: shapeA), b = try backend.upload(inputs[1], shape: shapeB)
                let biasTensor = bias ? try backend.upload(inputs[2], shape: [n]) : nil
                let c: Tensor
                if beta != 0 {
                    c = try backend.upload(inputs[3], shape: [batch, m, n])
                } else {
                    c = try poisoned(backend, [batch, m, n])
                }
                try backend.matmul(a, b, bias: biasTensor, into: c, options: options)
                return try backend.read(c)
            }, inputCounts: counts, inputRange: -1...1)
    }

    static func rowCase(_ operation: String, rows: Int, width: Int, range: ClosedRange<Float> = -1...1,
                        atol: Float = 1e-5, rtol: Float = 1e-4, label: String? = nil, extraCounts: [Int] = [],
                        _ body: @escaping @Sendable (any Backend, Tensor, Tensor, [[Float]]) throws -> Void) -> Case {
        Case(operation: operation, shape: label ?? "[\(rows), \(width)]", absoluteTolerance: atol, relativeTolerance: rtol,
             run: { backend, inputs in
                 let x = try backend.upload(inputs[0], shape: [rows, width])
                 let y = try poisoned(backend, [rows, width])
                 try body(backend, x, y, inputs)
                 return try backend.read(y)
             }, inputCounts: [rows * width] + extraCounts, inputRange: range)
    }

    /// The list `upadapter kernels check` runs.
    public static let standardCases: [Case] = {
        var cases: [Case] = [
            matmulCase(m: 1, n: 1, k: 1),
            matmulCase(m: 7, n: 13, k: 5),
            matmulCase(m: 77, n: 512, k: 512, transposeB: true, bias: true),
            matmulCase(m: 197, n: 768, k: 513, transposeB: true),
            matmulCase(m: 513, n: 7, k: 768, transposeA: true),
            matmulCase(m: 50, n: 97, k: 33, transposeA: true, transposeB: true),
            matmulCase(batch: 12, m: 50, n: 50, k: 64, transposeB: true, alpha: 0.125),
            matmulCase(batch: 12, m: 50, n: 64, k: 50),
            matmulCase(batch: 3, m: 197, n: 65, k: 129, sharedB: true, bias: true),
            matmulCase(m: 50, n: 768, k: 3072, beta: 1),
            matmulCase(m: 64, n: 100, k: 7, beta: 0.5),
            // The encoder's fused epilogues: residual (β = 1) + bias, and bias + activation.
            matmulCase(m: 50, n: 768, k: 77, transposeB: true, bias: true, beta: 1),
            matmulCase(m: 77, n: 3072, k: 65, transposeB: true, bias: true, activation: .quickGELU),
            matmulCase(m: 13, n: 37, k: 129, bias: true, activation: .gelu),
            matmulCase(batch: 3, m: 19, n: 45, k: 31, transposeA: true, activation: .quickGELU),
        ]
        for (rows, width, scale, causal) in [(1, 1, Float(1), false), (7, 50, 1, false), (600, 50, 0.125, false),
                                             (8 * 77, 77, 0.125, true), (3, 513, 1, false), (5, 768, 100, false)] {
            cases.append(rowCase("softmax", rows: rows, width: width, atol: 1e-6, rtol: 1e-4,
                                 label: "[\(rows), \(width)] scale \(scale)\(causal ? " causal" : "")") { backend, x, y, _ in
                try backend.softmaxRows(x, into: y, scale: scale, causalMask: causal)
            })
        }
        for (rows, width) in [(1, 1), (7, 768), (77, 512), (197, 768), (3, 513)] {
            cases.append(rowCase("layerNorm", rows: rows, width: width, range: -3...3, atol: 1e-4, rtol: 1e-4,
                                 extraCounts: [width, width]) { backend, x, y, inputs in
                let weight = try backend.upload(inputs[1], shape: [width]), bias = try backend.upload(inputs[2], shape: [width])
                try backend.layerNorm(x, weight: weight, bias: bias, epsilon: 1e-5, into: y)
            })
        }
        for (rows, width) in [(1, 7), (50, 512), (197, 768)] {
            cases.append(rowCase("l2Normalize", rows: rows, width: width) { backend, x, y, _ in
                try backend.l2NormalizeRows(x, into: y)
            })
        }
        for (m, n, width) in [(1, 1, 1), (7, 13, 512), (50, 100, 768), (197, 10, 513)] {
            cases.append(Case(operation: "cosineSimilarity", shape: "[\(m), \(width)] vs [\(n), \(width)]",
                              absoluteTolerance: 1e-5, relativeTolerance: 1e-4, run: { backend, inputs in
                let a = try backend.upload(inputs[0], shape: [m, width]), b = try backend.upload(inputs[1], shape: [n, width])
                let c = try poisoned(backend, [m, n])
                try backend.cosineSimilarity(a, b, into: c)
                return try backend.read(c)
            }, inputCounts: [m * width, n * width], inputRange: -1...1))
        }
        for kind in Activation.allCases {
            for (rows, width) in [(1, 7), (3, 513), (50, 3072)] {
                cases.append(rowCase(kind.rawValue, rows: rows, width: width, range: -6...6, atol: 1e-6, rtol: 1e-5) { backend, x, y, _ in
                    try backend.activation(kind, x, into: y)
                })
            }
        }
        for (rows, width, broadcast) in [(1, 513, false), (197, 768, true), (77, 512, false)] {
            cases.append(rowCase("add", rows: rows, width: width, atol: 1e-6, rtol: 1e-6,
                                 label: "[\(rows), \(width)] + \(broadcast ? "[\(width)]" : "[\(rows), \(width)]")",
                                 extraCounts: [broadcast ? width : rows * width]) { backend, x, y, inputs in
                let b = try backend.upload(inputs[1], shape: broadcast ? [width] : [rows, width])
                try backend.add(x, b, into: y)
            })
        }
        cases.append(rowCase("scale", rows: 77, width: 513, atol: 1e-6, rtol: 1e-6) { backend, x, y, _ in
            try backend.scale(x, by: -0.37, into: y)
        })
        for (tableRows, width, count) in [(1000, 512, 77), (50, 768, 7), (3, 1, 5)] {
            cases.append(Case(operation: "gatherRows", shape: "[\(tableRows), \(width)] → [\(count), \(width)]",
                              absoluteTolerance: 0, relativeTolerance: 0, run: { backend, inputs in
                let table = try backend.upload(inputs[0], shape: [tableRows, width])
                // Indices derived from the random input so that every run draws fresh ones.
                let indices = inputs[1].map { Int32((($0 + 1) / 2 * Float(tableRows - 1)).rounded()) }
                let y = try poisoned(backend, [count, width])
                try backend.gatherRows(table, indices: indices, into: y)
                return try backend.read(y)
            }, inputCounts: [tableRows * width, count], inputRange: -1...1))
        }
        for (shape, permutation) in [([2, 50, 12, 64], [0, 2, 1, 3]), ([2, 3, 7, 4, 7, 4], [0, 2, 4, 1, 3, 5]),
                                     ([513, 7], [1, 0]), ([3, 77, 8, 64], [0, 2, 1, 3]), ([5], [0])] {
            cases.append(Case(operation: "permute", shape: "\(shape) by \(permutation)", absoluteTolerance: 0, relativeTolerance: 0,
                              run: { backend, inputs in
                let x = try backend.upload(inputs[0], shape: shape)
                let y = try poisoned(backend, permutation.map { shape[$0] })
                try backend.permute(x, permutation: permutation, into: y)
                return try backend.read(y)
            }, inputCounts: [shape.elementCount], inputRange: -1...1))
        }
        for (batch, tokens, heads, headSize) in [(2, 50, 12, 64), (3, 7, 5, 3), (1, 1, 1, 1)] {
            let width = heads * headSize
            cases.append(Case(operation: "splitHeads", shape: "[\(batch), \(tokens), 3 × \(heads) × \(headSize)]",
                              absoluteTolerance: 0, relativeTolerance: 0, run: { backend, inputs in
                let qkv = try backend.upload(inputs[0], shape: [batch, tokens, 3 * width])
                let outputs = try (0..<3).map { _ in try poisoned(backend, [batch, heads, tokens, headSize]) }
                try backend.splitHeads(qkv, heads: heads, query: outputs[0], key: outputs[1], value: outputs[2])
                return try outputs.flatMap { try backend.read($0) }
            }, inputCounts: [batch * tokens * 3 * width], inputRange: -1...1))
        }
        cases.append(rowCase("copy", rows: 3, width: 513, atol: 0, rtol: 0) { backend, x, y, _ in
            try backend.copy(x, to: y)
        })
        cases.append(Case(operation: "fill", shape: "[7, 13] with 0.25", absoluteTolerance: 0, relativeTolerance: 0, run: { backend, _ in
            let y = try poisoned(backend, [7, 13])
            try backend.fill(y, with: 0.25)
            return try backend.read(y)
        }, inputCounts: [], inputRange: -1...1))
        return cases + trainingCases
    }()

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
        for (count, step) in [(53 * 513, 1), (7, 20)] {
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
