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

    /// Runs every case on `backend` and compares with `ReferenceBackend()`.
    /// - Throws: the first error an operation raises (a thrown error is a failure, not a skip).
    public static func run(on backend: any Backend, seed: UInt64 = 2024, cases: [Case] = standardCases) throws -> [Result] {
        let reference = ReferenceBackend()
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

    /// The list `upadapter kernels check` runs: every family's cases (in `Operations/`), the
    /// memory operations, and the training operations.
    public static let standardCases: [Case] = {
        var cases: [Case] = []
        cases.append(rowCase("copy", rows: 3, width: 513, atol: 0, rtol: 0) { backend, x, y, _ in
            try backend.copy(x, to: y)
        })
        cases.append(Case(operation: "fill", shape: "[7, 13] with 0.25", absoluteTolerance: 0, relativeTolerance: 0, run: { backend, _ in
            let y = try poisoned(backend, [7, 13])
            try backend.fill(y, with: 0.25)
            return try backend.read(y)
        }, inputCounts: [], inputRange: -1...1))
        return matrixProductCases + attentionCases + softmaxCases + layerNormCases + normalizeCases + elementwiseCases + layoutCases
            + convolutionCases + poolingCases + cases
            + trainingCases
    }()

}
