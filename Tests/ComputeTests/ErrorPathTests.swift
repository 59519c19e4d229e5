import Compute
import Foundation
import Testing

@Suite("Bad input is a thrown error, never a crash")
struct ErrorPathTests {
    @Test("Mismatched shapes are rejected by every backend with the tensor named")
    func shapeMismatches() throws {
        for backend in try backendsForTesting() {
            let a = try backend.makeTensor(shape: [3, 4]), b = try backend.makeTensor(shape: [5, 6])
            let c = try backend.makeTensor(shape: [3, 6])
            #expect(throws: ComputeError.self) { try backend.matmul(a, b, into: c) }
            do {
                try backend.matmul(a, b, into: c)
            } catch let error as ComputeError {
                #expect(error.description.contains("inner dimension 4"), "\(error)")
            }
            let wrongC = try backend.makeTensor(shape: [4, 4])
            let square = try backend.makeTensor(shape: [4, 4])
            #expect(throws: ComputeError.self) { try backend.matmul(a, square, into: wrongC) }
            let bias = try backend.makeTensor(shape: [5])
            #expect(throws: ComputeError.self) { try backend.matmul(a, square, bias: bias, into: try backend.makeTensor(shape: [3, 4]), options: MatmulOptions()) }
            let weight = try backend.makeTensor(shape: [3])
            #expect(throws: ComputeError.self) { try backend.layerNorm(a, weight: weight, bias: weight, epsilon: 1e-5, into: a) }
            #expect(throws: ComputeError.self) { try backend.softmaxRows(try backend.makeTensor(shape: [5, 3]), into: try backend.makeTensor(shape: [5, 3]), scale: 1, causalMask: true) }
            #expect(throws: ComputeError.self) { try backend.add(a, try backend.makeTensor(shape: [5]), into: a) }
            #expect(throws: ComputeError.self) { try backend.gatherRows(a, indices: [0, 3], into: try backend.makeTensor(shape: [2, 4])) }
            #expect(throws: ComputeError.self) { try backend.gatherRows(a, indices: [-1], into: try backend.makeTensor(shape: [1, 4])) }
            #expect(throws: ComputeError.self) { try backend.permute(a, permutation: [0, 0], into: a) }
            #expect(throws: ComputeError.self) { try backend.write([1, 2, 3], to: a) }
            #expect(throws: ComputeError.self) { try backend.cosineSimilarity(a, b, into: c) }
            #expect(throws: ComputeError.self) { _ = try a.reshaped([5, 5]) }
        }
    }

    @Test("A tensor of one backend is refused by another")
    func foreignTensors() throws {
        let first = CPUBackend(), second = CPUBackend()
        let tensor = try first.upload([1, 2, 3], shape: [3])
        #expect(throws: ComputeError.self) { _ = try second.read(tensor) }
        if let openCL = try openCLBackendForTesting() {
            #expect(throws: ComputeError.self) { _ = try openCL.read(tensor) }
            let deviceTensor = try openCL.upload([1, 2, 3], shape: [3])
            #expect(throws: ComputeError.self) { try first.scale(deviceTensor, by: 2, into: tensor) }
        }
    }

    @Test("Device specifications parse, and unknown devices list what exists")
    func deviceSelection() throws {
        #expect(try DeviceSelection(parsing: "cpu") == .cpu)
        #expect(try DeviceSelection(parsing: "OpenCL:2") == .openCL(index: 2))
        #expect(try DeviceSelection(parsing: "opencl") == .openCL(index: nil))
        #expect(try DeviceSelection(parsing: "auto") == .auto)
        #expect(throws: ComputeError.self) { try DeviceSelection(parsing: "cuda") }
        #expect(throws: ComputeError.self) { try DeviceSelection(parsing: "opencl:-1") }
        #expect(try DeviceSelection.resolve(flag: "cpu", configured: "opencl") == .cpu)
        do {
            _ = try DeviceSelection.openCL(index: 99).makeBackend()
            Issue.record("opencl:99 should not exist")
        } catch let error as ComputeError {
            #expect(error.description.contains("opencl:99"))
            #expect(error.description.contains("cpu"), "the message lists the available devices: \(error)")
        }
    }

    @Test("A kernel that fails to build throws with the compiler's log")
    func buildFailureCarriesLog() throws {
        guard try openCLBackendForTesting() != nil else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-broken-kernels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "__kernel void scale(const int count) { this is not OpenCL C }".write(
            to: directory.appendingPathComponent("elementwise.cl"), atomically: true, encoding: .utf8)
        let backend = try OpenCLBackend(deviceIndex: 0, kernelDirectory: directory)
        let x = try backend.upload([1, 2], shape: [2])
        do {
            try backend.scale(x, by: 2, into: x)
            Issue.record("the broken kernel should not build")
        } catch let ComputeError.programBuildFailed(file, _, log) {
            #expect(file.hasPrefix("elementwise.cl"))
            #expect(log.contains("error"), "build log: \(log)")
        }
        // The embedded kernels of other files still work from the same backend.
        let y = try backend.makeTensor(shape: [2])
        try backend.copy(x, to: y)
        #expect(try backend.read(y) == [1, 2])
    }

    @Test("OpenCL status codes have their symbolic names in messages")
    func statusNames() {
        #expect(ComputeError.openCL(call: "clEnqueueNDRangeKernel", status: -5).description.contains("CL_OUT_OF_RESOURCES"))
        #expect(openCLStatusName(-4) == "CL_MEM_OBJECT_ALLOCATION_FAILURE")
    }

    @Test("An impossible allocation fails with a clear error")
    func allocationFailure() throws {
        guard let backend = try openCLBackendForTesting() else { return }
        #expect(throws: ComputeError.self) { _ = try backend.makeTensor(shape: [1 << 20, 1 << 20]) }
    }
}

@Suite("UPADAPTER_OPENCL_SYNC: every launch finishes and is checked")
struct SynchronousLaunchTests {
    @Test("With synchronous launches every operation still matches the twin")
    func synchronousLaunchesWork() throws {
        guard try openCLBackendForTesting() != nil else { return }
        let backend = try OpenCLBackend(deviceIndex: 0, synchronizeEachLaunch: true)
        #expect(backend.synchronizesEachLaunch)
        let cases = KernelCheck.standardCases.filter { ["matmul", "softmax", "prototypeLogits", "adamWStep"].contains($0.operation) }
        for result in try KernelCheck.run(on: backend, seed: 9, cases: cases) {
            #expect(result.passed, "\(result.operation) \(result.shape): \(result.comparison)")
        }
    }

    @Test("A kernel failure names the kernel")
    func failureNamesKernel() {
        let error = ComputeError.kernelFailed(kernel: "matmul_tiled [-D TILE_M=64]", status: -5)
        #expect(error.description.contains("matmul_tiled") && error.description.contains("CL_OUT_OF_RESOURCES"))
    }
}
