import Compute
import Foundation
import Testing

@Suite("Device choice on fake device lists")
struct DeviceChoiceTests {
    static let pocl = DeviceSummary(index: 0, name: "cpu-haswell-AMD EPYC", type: .cpu, platformName: "Portable Computing Language")
    static let gpu = DeviceSummary(index: 1, name: "NVIDIA H100", type: .gpu, platformName: "NVIDIA CUDA")
    static let secondGPU = DeviceSummary(index: 2, name: "AMD Radeon", type: .gpu, platformName: "AMD Accelerated Parallel Processing")
    static let fpga = DeviceSummary(index: 3, name: "FPGA emulator", type: .accelerator, platformName: "Intel FPGA")

    @Test("auto takes the first GPU, whatever comes before it in the list")
    func autoTakesGPU() throws {
        let choice = try DeviceSelection.auto.choose(among: .success([Self.pocl, Self.gpu, Self.secondGPU]))
        #expect(choice.target == .openCL(index: 1))
        #expect(choice.reason.contains("NVIDIA H100") && choice.reason.contains("GPU"), "\(choice.reason)")
    }

    @Test("auto falls back to the CPU backend and says why")
    func autoFallsBack() throws {
        let cpuOnly = try DeviceSelection.auto.choose(among: .success([Self.pocl]))
        #expect(cpuOnly.target == .cpu)
        #expect(cpuOnly.reason.contains("no OpenCL GPU") && cpuOnly.reason.contains("opencl:0"), "\(cpuOnly.reason)")
        let none = try DeviceSelection.auto.choose(among: .success([]))
        #expect(none.target == .cpu && none.reason.contains("no OpenCL device"), "\(none.reason)")
        let failed = try DeviceSelection.auto.choose(among: .failure(.openCL(call: "clGetPlatformIDs", status: -6)))
        #expect(failed.target == .cpu)
        #expect(failed.reason.contains("discovery failed") && failed.reason.contains("CL_OUT_OF_HOST_MEMORY"), "\(failed.reason)")
        #expect(failed.isDecision && cpuOnly.isDecision)
    }

    @Test("opencl prefers a GPU, then an accelerator, then the first device, and names it")
    func openCLPrefersGPU() throws {
        let selection = DeviceSelection.openCL(index: nil)
        let withGPU = try selection.choose(among: .success([Self.pocl, Self.fpga, Self.secondGPU]))
        #expect(withGPU.target == .openCL(index: 2))
        #expect(withGPU.reason.contains("opencl:2") && withGPU.reason.contains("AMD Radeon"), "\(withGPU.reason)")
        let withAccelerator = try selection.choose(among: .success([Self.pocl, Self.fpga]))
        #expect(withAccelerator.target == .openCL(index: 3))
        let cpuOnly = try selection.choose(among: .success([Self.pocl]))
        #expect(cpuOnly.target == .openCL(index: 0))
        #expect(cpuOnly.reason.contains("no GPU found"), "\(cpuOnly.reason)")
        #expect(throws: ComputeError.self) { try selection.choose(among: .success([])) }
        #expect(throws: ComputeError.self) { try selection.choose(among: .failure(.openCL(call: "clGetPlatformIDs", status: -6))) }
    }

    @Test("opencl:N takes device N or lists what exists; cpu never looks at OpenCL")
    func explicitIndex() throws {
        let list: [DeviceSummary] = [Self.pocl, Self.gpu]
        #expect(try DeviceSelection.openCL(index: 0).choose(among: .success(list)).target == .openCL(index: 0))
        do {
            _ = try DeviceSelection.openCL(index: 5).choose(among: .success(list))
            Issue.record("opencl:5 does not exist")
        } catch let error as ComputeError {
            #expect(error.description.contains("opencl:1 (NVIDIA H100, GPU)"), "\(error)")
        }
        let cpu = try DeviceSelection.cpu.choose(among: .failure(.openCL(call: "x", status: -1)))
        #expect(cpu.target == .cpu && !cpu.isDecision)
        #expect(try DeviceSelection.cpuReference.choose(among: .success(list)).target == .cpuReference)
    }

    @Test("opencl:N numbering does not depend on the order the ICD loader lists platforms in")
    func stableNumbering() {
        let platforms = [(name: "NVIDIA CUDA", version: "OpenCL 3.0 CUDA 12.4"), (name: "Portable Computing Language", version: "OpenCL 3.0 PoCL 3.1"),
                         (name: "AMD Accelerated Parallel Processing", version: "OpenCL 2.1 AMD-APP")]
        let order = OpenCLDiscovery.stablePlatformOrder(platforms).map { platforms[$0].name }
        #expect(order == ["AMD Accelerated Parallel Processing", "NVIDIA CUDA", "Portable Computing Language"])
        let reversed = Array(platforms.reversed())
        #expect(OpenCLDiscovery.stablePlatformOrder(reversed).map { reversed[$0].name } == order)
        let same = [(name: "X", version: "2"), (name: "X", version: "1")]
        #expect(OpenCLDiscovery.stablePlatformOrder(same) == [1, 0])
    }
}
