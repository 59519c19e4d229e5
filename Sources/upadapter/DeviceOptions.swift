import ArgumentParser
import Compute
import Foundation

/// The `--device` option shared by every command that computes.
struct DeviceOptions: ParsableArguments {
    @Option(name: .long, help: "auto, cpu, cpu-reference, opencl or opencl:N (default: $UPADAPTER_DEVICE, else auto).")
    var device: String?

    /// Opens the chosen backend, or fails with a message listing the available devices.
    func makeBackend(configured: String? = nil) throws -> any Backend {
        try DeviceSelection.resolve(flag: device, configured: configured).makeBackend()
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
