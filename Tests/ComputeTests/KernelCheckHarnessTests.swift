@testable import Compute
import Testing

@Suite("The check harness: guard zones and operations a backend lacks")
struct KernelCheckHarnessTests {
    /// A case that fills its `[4]` output and, with `overrun`, one element past its end.
    private func fillCase(overrun: Bool) -> KernelCheck.Case {
        KernelCheck.Case(operation: "fill", shape: overrun ? "[4] and one past" : "[4]", absoluteTolerance: 0, relativeTolerance: 0,
                         run: { backend, _ in
                             let y = try KernelCheck.poisoned(backend, [4])
                             try backend.fill(try y.prefix(shape: [overrun ? 5 : 4]), with: 1)
                             return try backend.read(y)
                         }, inputCounts: [], inputRange: -1...1)
    }

    @Test("A write past an output's end lands in its guard zone and fails the case; one within passes")
    func guardZoneCatchesOverrun() throws {
        let results = try KernelCheck.run(on: CPUBackend(), cases: [fillCase(overrun: true), fillCase(overrun: false)])
        #expect(results[0].comparison.passed && results[0].outOfRangeWrites == 2, "one element past the end on the twin and on the CPU")
        #expect(!results[0].passed && results[0].description.contains("past an output's end"))
        #expect(results[1].passed && results[1].outOfRangeWrites == 0)
    }

    @Test("A backend without the training operations reports their cases as not supported, neither passed nor failed")
    func missingOperationsAreNotSupported() throws {
        let results = try KernelCheck.run(on: MemoryOnlyBackend(), cases: KernelCheck.trainingCases)
        #expect(results.count == KernelCheck.trainingCases.count)
        for result in results {
            #expect(!result.supported && !result.passed && result.description == "not supported", "\(result.operation) \(result.shape)")
        }
    }

    @Test("kernels bench times the timed cases of the one list, under the figure names of each family, in family order")
    func benchCasesComeFromTheList() throws {
        let names = KernelCheck.benchCases.map { "\($0.operation) \($0.shape)" }
        #expect(names.first == "matmul 1024x1024x1024" && names.last == "copy [9830400] (device copy, yardstick of the activations' size)")
        #expect(names.contains("softmax [38400, 50] (64 x 12 heads x 50)") && names.contains("convolution [8, 7, 7, 512] 3x3 + bias + ReLU"))
        #expect(KernelCheck.standardCases.allSatisfy { $0.timing == nil } && KernelCheck.benchCases.allSatisfy { $0.timing != nil })
        #expect(KernelCheck.standardCases.count + KernelCheck.benchCases.count == KernelCheck.allCases.count)
        let small = KernelCheck.timed("scale", "[64]", .bytes(512)) { context in
            let x = try context.random([64]), y = try context.backend.makeTensor(shape: [64])
            return { try context.backend.scale(x, by: 2, into: y) }
        }
        let figure = try KernelBenchmark.figure(of: small, KernelBenchmark.Context(backend: CPUBackend(), repeats: 1))
        #expect(figure.name == "scale [64]" && figure.unit == "GB/s" && figure.value > 0 && figure.seconds > 0)
        #expect(throws: ComputeError.self) {
            try KernelBenchmark.figure(of: KernelCheck.standardCases[0], KernelBenchmark.Context(backend: CPUBackend(), repeats: 1))
        }
    }
}

/// Host memory and no operation: a backend that lacks the training operations.
private final class MemoryOnlyBackend: HostBackend {
    let launchHook = LaunchHook()
    var name: String { "memory-only" }
    var deviceDescription: String { "host memory, no operations" }

    private func missing(_ operation: String) -> ComputeError {
        ComputeError.invalidArgument(operation: operation, message: "not implemented by \(name)")
    }

    func matmul(_ a: Tensor, _ b: Tensor, bias: Tensor?, into c: Tensor, options: MatmulOptions) throws { throw missing("matmul") }
    func softmaxRows(_ x: Tensor, into y: Tensor, scale: Float, causalMask: Bool) throws { throw missing("softmax") }
    func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float, into y: Tensor) throws { throw missing("layerNorm") }
    func l2NormalizeRows(_ x: Tensor, into y: Tensor) throws { throw missing("l2Normalize") }
    func cosineSimilarity(_ a: Tensor, _ b: Tensor, into c: Tensor) throws { throw missing("cosineSimilarity") }
    func activation(_ kind: Activation, _ x: Tensor, into y: Tensor) throws { throw missing("activation") }
    func add(_ a: Tensor, _ b: Tensor, into c: Tensor) throws { throw missing("add") }
    func scale(_ x: Tensor, by factor: Float, into y: Tensor) throws { throw missing("scale") }
    func gatherRows(_ table: Tensor, indices: [Int32], into y: Tensor) throws { throw missing("gatherRows") }
    func permute(_ x: Tensor, permutation: [Int], into y: Tensor) throws { throw missing("permute") }
    func attention(_ queryKeyValue: Tensor, heads: Int, scale: Float, causalMask: Bool, into y: Tensor) throws { throw missing("attention") }
    func imagePatches(_ pixels: Tensor, patchSize: Int, into y: Tensor) throws { throw missing("imagePatches") }
    func convolutionPatches(_ x: Tensor, kernelSize: Int, stride: Int, padding: Int, into y: Tensor) throws {
        throw missing("convolutionPatches")
    }
    func averagePool(_ x: Tensor, window: Int, into y: Tensor) throws { throw missing("averagePool") }
}
