import Foundation

/// Which backend to run on: `auto` (the first OpenCL GPU, else the CPU backend), `cpu`,
/// `cpu-reference` (the plain-loop twin), `opencl` (the first OpenCL device of any type) or
/// `opencl:N`.
public enum DeviceSelection: Equatable, Sendable, CustomStringConvertible {
    case auto
    case cpu
    case cpuReference
    case openCL(index: Int?)

    /// The environment variable consulted when no `--device` flag is given.
    public static let environmentVariable = "UPADAPTER_DEVICE"

    /// Parses a device specification such as `opencl:1`.
    /// - Throws: `ComputeError.invalidDeviceSpecification` for anything else.
    public init(parsing text: String) throws {
        let normalized = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch normalized {
        case "auto", "": self = .auto
        case "cpu": self = .cpu
        case "cpu-reference": self = .cpuReference
        case "opencl": self = .openCL(index: nil)
        default:
            guard normalized.hasPrefix("opencl:"), let index = Int(normalized.dropFirst("opencl:".count)), index >= 0 else {
                throw ComputeError.invalidDeviceSpecification(text)
            }
            self = .openCL(index: index)
        }
    }

    /// The selection in force: the flag if given, else `UPADAPTER_DEVICE`, else the config's
    /// value, else `auto`.
    public static func resolve(flag: String?, configured: String? = nil) throws -> DeviceSelection {
        if let flag { return try DeviceSelection(parsing: flag) }
        if let variable = ProcessInfo.processInfo.environment[environmentVariable], !variable.isEmpty {
            return try DeviceSelection(parsing: variable)
        }
        if let configured { return try DeviceSelection(parsing: configured) }
        return .auto
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .cpu: return "cpu"
        case .cpuReference: return "cpu-reference"
        case .openCL(let index): return index.map { "opencl:\($0)" } ?? "opencl"
        }
    }

    /// Opens the selected backend.
    /// - Throws: `ComputeError.deviceNotFound` listing the available devices when the selected
    ///   one does not exist, or the OpenCL error that prevented opening it.
    public func makeBackend() throws -> any Backend {
        switch self {
        case .cpu: return CPUBackend()
        case .cpuReference: return CPUBackend(mode: .reference)
        case .auto:
            let devices = (try? OpenCLDiscovery.devices()) ?? []
            if let gpu = devices.first(where: \.isGPU) { return try OpenCLBackend(deviceIndex: gpu.index) }
            return CPUBackend()
        case .openCL(let index):
            let devices = try OpenCLDiscovery.devices()
            guard let device = index.map({ i in devices.first { $0.index == i } }) ?? devices.first else {
                throw ComputeError.deviceNotFound(requested: description, available: Self.availableDeviceNames())
            }
            return try OpenCLBackend(deviceIndex: device.index)
        }
    }

    /// Names of every device that can be selected, with a short description.
    public static func availableDeviceNames() -> [String] {
        let openCL = ((try? OpenCLDiscovery.devices()) ?? []).map { "opencl:\($0.index) (\($0.name), \($0.type))" }
        return ["cpu", "cpu-reference"] + openCL
    }
}
