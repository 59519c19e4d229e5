import ArgumentParser
import Compute
import Foundation

/// The `--device` option shared by every command that computes.
struct DeviceOptions: ParsableArguments {
    @Option(name: .long, help: "auto, cpu, cpu-reference, opencl or opencl:N (default: $UPADAPTER_DEVICE, else auto).")
    var device: String?

    @Option(name: .long, help: ArgumentHelp(
        "Force OpenCL kernel variants: gpu, cpu, or matmul=tiled|packed|blocked and/or rows=groupPerRow|itemPerRow, comma-separated (default: $UPADAPTER_KERNEL_VARIANT, else each device's own table).",
        valueName: "variants"))
    var kernelVariant: String?

    /// The kernel-variant override in force: the flag, else `UPADAPTER_KERNEL_VARIANT`.
    func kernelVariantOverride() throws -> KernelVariantOverride {
        try KernelVariantOverride.resolve(flag: kernelVariant)
    }

    /// Opens the chosen backend, or fails with a message listing the available devices. When a
    /// choice was made for the user (`auto`, `opencl`), says on standard error which device was
    /// taken and why; on the CPU backend, warns there when OpenBLAS runs kernels below what the
    /// processor supports (`BLASKernelAdvice`). When `OPENBLAS_CORETYPE` asks for those kernels
    /// on purpose, that is said once per run (`announceDeliberateKernels`: `run`, `sweep`), as a
    /// note, and not by every `predict` or `encode-*`.
    func makeBackend(configured: String? = nil, announceDeliberateKernels: Bool = false) throws -> any Backend {
        let selection = try DeviceSelection.resolve(flag: device, configured: configured)
        let (backend, choice) = try selection.open(kernelVariants: try kernelVariantOverride())
        if choice.isDecision { printError("device: \(choice.reason)") }
        if backend is CPUBackend, let advice = BLASKernelAdvice.current {
            if !advice.isDeliberate {
                printError("warning: \(advice.message)")
            } else if announceDeliberateKernels {
                printError("note: \(advice.message)")
            }
        }
        return backend
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    var standardError = StandardErrorStream()
    print(text, to: &standardError)
}

struct StandardErrorStream: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
