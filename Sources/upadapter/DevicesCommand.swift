import ArgumentParser
import Compute
import Foundation

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List every backend and OpenCL device this machine offers.",
        discussion: "opencl:N numbers are stable: platforms sorted by name, then each platform's devices in driver order.")

    @Option(name: .long, help: ArgumentHelp("Show the kernel variants as forced by this override (as --kernel-variant elsewhere).", valueName: "variants"))
    var kernelVariant: String?

    func run() throws {
        let override = try KernelVariantOverride.resolve(flag: kernelVariant)
        let blas = BLASInfo.current
        let cpu = CPUFeatures.current
        print("cpu            CPU backend: \(cpu.modelName), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("               BLAS: OpenBLAS, core \(blas.coreName), \(blas.threads) threads (\(blas.configuration))")
        if let advice = BLASKernelAdvice.current {
            print("               \(advice.isDeliberate ? "note" : "warning"): \(advice.message)")
        }
        print("cpu-reference  plain-loop CPU twin (for checks; slow)")
        let devices: [OpenCLDeviceInfo]
        do {
            devices = try OpenCLDiscovery.devices()
        } catch {
            print("opencl         discovery failed: \(error)")
            return
        }
        if devices.isEmpty {
            print("opencl         no OpenCL platform found (install an OpenCL driver, e.g. pocl-opencl-icd for CPUs)")
        }
        for device in devices {
            print("opencl:\(device.index)       \(device.name)")
            print("               type \(device.type), platform \(device.platformName) (\(device.platformVersion))")
            print("               \(device.computeUnits) compute units, global memory \(formatBytes(device.globalMemoryBytes)), "
                  + "local memory \(formatBytes(device.localMemoryBytes)), max work-group \(device.maxWorkGroupSize)")
            print("               \(device.openCLCVersion), driver \(device.driverVersion)")
            var tuning = KernelTuning.forDevice(device, override: override)
            let record = TuningRecord.fileURL().flatMap { TuningRecord.load(from: $0)[TuningRecord.key(for: device)] }
            var source = override == .none ? "this device's table" : "override \(override)"
            if let record, override.matmul == nil {
                tuning.apply(record.choice)
                let timings = record.seconds.sorted { $0.value < $1.value }.map { String(format: "%@ %.2f ms", $0.key, $0.value * 1000) }
                source += "; matmul \(record.choice) from the tuning record of \(record.date): " + timings.joined(separator: ", ")
            } else if record == nil, device.type != .cpu, TuningRecord.fileURL() != nil {
                source += "; matmul timed on first use"
            }
            print("               kernels: \(tuning.variants) (\(source))")
        }
        let summaries = Result<[DeviceSummary], ComputeError>.success(devices.map(\.summary))
        for selection in [DeviceSelection.auto, .openCL(index: nil)] {
            do {
                print(pad(selection.description, 15) + (try selection.choose(among: summaries)).reason)
            } catch {
                print(pad(selection.description, 15) + "unavailable: \(error)")
            }
        }
    }
}

func formatBytes(_ bytes: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes), unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return String(format: unit == 0 ? "%.0f %@" : "%.1f %@", value, units[unit])
}
