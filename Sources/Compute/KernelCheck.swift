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
        /// Runs the operation on `backend`; returns its output (`nil` for a timed case).
        let run: (@Sendable (_ backend: any Backend, _ inputs: [[Float]]) throws -> [Float])?
        /// Shapes of the random inputs (values uniform in [-1, 1] unless `inputRange` says otherwise).
        let inputCounts: [Int]
        let inputRange: ClosedRange<Float>
        /// Inputs the case makes itself (from a seed of its own) instead of the run's random draw.
        let fixedInputs: (@Sendable () -> [[Float]])?
        /// What a backend must implement to run the case.
        let requirement: Requirement
        /// For a case `kernels bench` times: its work and its set-up (`nil` for a checked case).
        let timing: Timing?

        init(operation: String, shape: String, absoluteTolerance: Float, relativeTolerance: Float,
             run: (@Sendable (_ backend: any Backend, _ inputs: [[Float]]) throws -> [Float])?,
             inputCounts: [Int], inputRange: ClosedRange<Float>, fixedInputs: (@Sendable () -> [[Float]])? = nil,
             requirement: Requirement = .backend, timing: Timing? = nil) {
            self.operation = operation
            self.shape = shape
            self.absoluteTolerance = absoluteTolerance
            self.relativeTolerance = relativeTolerance
            self.run = run
            self.inputCounts = inputCounts
            self.inputRange = inputRange
            self.fixedInputs = fixedInputs
            self.requirement = requirement
            self.timing = timing
        }

        /// The same case, run only on backends that implement `requirement`.
        func requiring(_ requirement: Requirement) -> Case {
            Case(operation: operation, shape: shape, absoluteTolerance: absoluteTolerance, relativeTolerance: relativeTolerance,
                 run: run, inputCounts: inputCounts, inputRange: inputRange, fixedInputs: fixedInputs, requirement: requirement,
                 timing: timing)
        }
    }

    /// The work of one run of a timed case: what `kernels bench` divides by the median seconds.
    public enum Work: Sendable {
        /// Floating-point operations, reported as GFLOP/s.
        case flops(Double)
        /// Bytes read and written, reported as GB/s.
        case bytes(Double)
    }

    /// How a timed case runs: its work, and its set-up, which draws the inputs from the bench's
    /// generator, allocates the outputs and returns one run of the operation.
    struct Timing: Sendable {
        let work: Work
        let setUp: @Sendable (KernelBenchmark.Context) throws -> () throws -> Void
    }

    /// A case that `kernels bench` times under the name `operation shape`, at the encoder's and
    /// the trainer's shapes (too large for the plain-loop twin: it is not compared).
    static func timed(_ operation: String, _ shape: String, _ work: Work,
                      setUp: @escaping @Sendable (KernelBenchmark.Context) throws -> () throws -> Void) -> Case {
        Case(operation: operation, shape: shape, absoluteTolerance: 0, relativeTolerance: 0, run: nil, inputCounts: [],
             inputRange: -1...1, timing: Timing(work: work, setUp: setUp))
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
            guard let run = testCase.run else {
                throw ComputeError.invalidArgument(operation: "kernels check", message: "\(testCase.operation) \(testCase.shape) is timed, not checked")
            }
            let inputs = testCase.fixedInputs?() ?? testCase.inputCounts.map { generator.uniform(count: $0, in: testCase.inputRange) }
            guard testCase.requirement.isMet(by: backend) else {
                return Result(operation: testCase.operation, shape: testCase.shape,
                              comparison: Comparison(actual: [], expected: [], absoluteTolerance: 0, relativeTolerance: 0),
                              supported: false, outOfRangeWrites: 0, referenceHasNaN: false)
            }
            let zones = GuardZones()
            let (expected, actual) = try GuardZones.$current.withValue(zones) {
                (try run(reference, inputs), try run(backend, inputs))
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

    /// Every family's cases, checked and timed, each family's in its file in `Operations/`: the
    /// memory operations, the training operations, and the training operations at the sizes and
    /// seeds of their own tests. `kernels check` and the tests run the checked ones
    /// (`standardCases`), `kernels bench` the timed ones (`benchCases`).
    public static let allCases: [Case] = {
        var memoryCases: [Case] = []
        memoryCases.append(rowCase("copy", rows: 3, width: 513, atol: 0, rtol: 0) { backend, x, y, _ in
            try backend.copy(x, to: y)
        })
        memoryCases.append(Case(operation: "fill", shape: "[7, 13] with 0.25", absoluteTolerance: 0, relativeTolerance: 0, run: { backend, _ in
            let y = try poisoned(backend, [7, 13])
            try backend.fill(y, with: 0.25)
            return try backend.read(y)
        }, inputCounts: [], inputRange: -1...1))
        // The device copy: the bandwidth yardsticks the row operations are compared with, at the
        // size of the softmax and layer-norm tensors ([3200, 768], 9.8 MB, which a large
        // last-level cache holds) and of the activations' ([3200, 3072], 39 MB, from memory).
        for (count, label) in [(3200 * 768, "(device copy, bandwidth yardstick)"),
                               (3200 * 3072, "(device copy, yardstick of the activations' size)")] {
            memoryCases.append(timed("copy", "[\(count)] \(label)", .bytes(Double(count * 8))) { context in
                let source = try context.random([count]), destination = try context.backend.makeTensor(shape: [count])
                return { try context.backend.copy(source, to: destination) }
            })
        }
        return matrixProductCases + matrixProductBenchCases + attentionCases + attentionBenchCases + softmaxCases + softmaxBenchCases
            + layerNormCases + layerNormBenchCases + normalizeCases + elementwiseCases + elementwiseBenchCases + layoutCases
            + convolutionCases + convolutionBenchCases + poolingCases + poolingBenchCases + memoryCases
            + trainingCases + trainingOperationTestCases
    }()

    /// The checked cases of `allCases`: the list `upadapter kernels check` runs.
    public static let standardCases: [Case] = allCases.filter { $0.timing == nil }

    /// The timed cases of `allCases`: the list `upadapter kernels bench` times.
    public static let benchCases: [Case] = allCases.filter { $0.timing != nil }
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
