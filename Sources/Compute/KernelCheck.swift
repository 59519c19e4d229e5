import Foundation

/// Runs every operation of a backend against the plain-loop CPU twin on a fixed list of shapes
/// (odd sizes, inner dimensions that are no multiple of any tile), with fresh random inputs and
/// the output poisoned with NaN before each run, in a buffer with a guard zone after its end that
/// catches writes out of range. Each operation family declares its cases once, in its file in
/// `Operations/`; `upadapter kernels check` and the Swift tests run them from `standardCases`
/// (the model: ggml's `test-backend-ops`). A backend that lacks an operation reports its cases
/// as not supported.
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
        /// Inputs the case makes itself (from a seed of its own) instead of the run's random draw.
        let fixedInputs: (@Sendable () -> [[Float]])?
        /// What a backend must implement to run the case.
        let requirement: Requirement

        init(operation: String, shape: String, absoluteTolerance: Float, relativeTolerance: Float,
             run: @escaping @Sendable (_ backend: any Backend, _ inputs: [[Float]]) throws -> [Float],
             inputCounts: [Int], inputRange: ClosedRange<Float>, fixedInputs: (@Sendable () -> [[Float]])? = nil,
             requirement: Requirement = .backend) {
            self.operation = operation
            self.shape = shape
            self.absoluteTolerance = absoluteTolerance
            self.relativeTolerance = relativeTolerance
            self.run = run
            self.inputCounts = inputCounts
            self.inputRange = inputRange
            self.fixedInputs = fixedInputs
            self.requirement = requirement
        }

        /// The same case, run only on backends that implement `requirement`.
        func requiring(_ requirement: Requirement) -> Case {
            Case(operation: operation, shape: shape, absoluteTolerance: absoluteTolerance, relativeTolerance: relativeTolerance,
                 run: run, inputCounts: inputCounts, inputRange: inputRange, fixedInputs: fixedInputs, requirement: requirement)
        }
    }

    /// The protocol whose operations a case runs.
    public enum Requirement: Sendable {
        /// `Backend`: every backend.
        case backend
        /// `TrainingBackend`: the prototype head's operations.
        case training

        /// Whether `backend` implements the operations.
        func isMet(by backend: any Backend) -> Bool {
            switch self {
            case .backend: return true
            case .training: return backend is any TrainingBackend
            }
        }
    }

    /// The outcome of one case.
    public struct Result: Sendable, CustomStringConvertible {
        public let operation: String
        public let shape: String
        /// The output against the twin's (empty when the case did not run).
        public let comparison: Comparison
        /// Whether the backend implements the operation; a case it lacks neither passes nor fails.
        public let supported: Bool
        /// Elements written into the guard zones after the outputs' ends (on either side).
        public let outOfRangeWrites: Int
        /// Whether the twin left NaN in its output (an element it never wrote).
        public let referenceHasNaN: Bool

        public var passed: Bool { supported && comparison.passed && outOfRangeWrites == 0 }

        public var description: String {
            guard supported else { return "not supported" }
            return "\(comparison)" + (outOfRangeWrites == 0 ? "" : "; \(outOfRangeWrites) elements written past an output's end")
        }
    }

    /// Runs every case on `backend` and compares with `ReferenceBackend()`.
    /// - Throws: the first error an operation raises (a thrown error is a failure, not a skip).
    public static func run(on backend: any Backend, seed: UInt64 = 2024, cases: [Case] = standardCases) throws -> [Result] {
        let reference = ReferenceBackend()
        var generator = SeededGenerator(seed: seed)
        return try cases.map { testCase in
            let inputs = testCase.fixedInputs?() ?? testCase.inputCounts.map { generator.uniform(count: $0, in: testCase.inputRange) }
            guard testCase.requirement.isMet(by: backend) else {
                return Result(operation: testCase.operation, shape: testCase.shape,
                              comparison: Comparison(actual: [], expected: [], absoluteTolerance: 0, relativeTolerance: 0),
                              supported: false, outOfRangeWrites: 0, referenceHasNaN: false)
            }
            let zones = GuardZones()
            let (expected, actual) = try GuardZones.$current.withValue(zones) {
                (try testCase.run(reference, inputs), try testCase.run(backend, inputs))
            }
            return Result(operation: testCase.operation, shape: testCase.shape, comparison: Comparison(
                actual: actual, expected: expected,
                absoluteTolerance: testCase.absoluteTolerance, relativeTolerance: testCase.relativeTolerance),
                supported: true, outOfRangeWrites: try zones.overwrittenCount(), referenceHasNaN: expected.contains { $0.isNaN })
        }
    }

    /// Allocates `shape` on `backend` filled with NaN, so that an element the operation forgets
    /// to write fails the comparison, followed by a guard zone that a write past the end changes.
    static func poisoned(_ backend: any Backend, _ shape: [Int]) throws -> Tensor {
        let count = shape.elementCount
        let guarded = try backend.makeTensor(shape: [count + GuardZones.length])
        try backend.write([Float](repeating: .nan, count: count) + GuardZones.pattern, to: guarded)
        GuardZones.current?.add(guarded, outputCount: count, on: backend)
        return try guarded.prefix(shape: shape)
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
    /// memory operations, the training operations, and the training operations at the sizes and
    /// seeds of their own tests.
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
            + trainingCases + trainingOperationTestCases
    }()
}

/// The guard zones of the outputs a case run allocated (`KernelCheck.poisoned`): `length`
/// elements of a fixed pattern after each output's end, read back after the run.
final class GuardZones: @unchecked Sendable {
    // @unchecked: `buffers` is guarded by `lock`.
    /// Elements after each output.
    static let length = 67
    /// What a guard zone holds: values no operation of a case writes (large, of either sign).
    static let pattern: [Float] = (0..<length).map { Float($0 % 2 == 0 ? 1 : -1) * Float(1e30) * Float(1 + $0) }

    /// The zones of the case running on this task.
    @TaskLocal static var current: GuardZones?

    private let lock = NSLock()
    private var buffers: [(buffer: Tensor, outputCount: Int, backend: any Backend)] = []

    func add(_ buffer: Tensor, outputCount: Int, on backend: any Backend) {
        lock.withLock { buffers.append((buffer, outputCount, backend)) }
    }

    /// Guard elements that no longer hold the pattern, over every zone.
    func overwrittenCount() throws -> Int {
        try lock.withLock { buffers }.reduce(0) { total, entry in
            let zone = try entry.backend.read(entry.buffer).dropFirst(entry.outputCount)
            return total + zip(zone, Self.pattern).filter { $0.bitPattern != $1.bitPattern }.count
        }
    }
}
