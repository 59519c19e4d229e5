import Compute
import Testing

/// Every training operation, on the CPU fast path and OpenCL, against the plain-loop twin: the
/// cases of `KernelCheck.trainingOperationTestCases` (fresh inputs drawn from each case's seed at
/// odd sizes, outputs NaN-poisoned first and guarded past their ends), and the refusals.
@Suite struct TrainingOpsTests {
    @Test("Every training-operation case, on every backend under test, against the twin")
    func trainingOperationCases() throws {
        for backend in try TestBackends.underTest {
            let results = try KernelCheck.run(on: backend, cases: KernelCheck.trainingOperationTestCases)
            #expect(results.count == KernelCheck.trainingOperationTestCases.count)
            for result in results {
                let label = "\(result.operation) \(result.shape) on \(backend.name)"
                #expect(!result.referenceHasNaN, "\(label): the twin left NaN in an output")
                #expect(result.passed, "\(label): \(result)")
            }
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
