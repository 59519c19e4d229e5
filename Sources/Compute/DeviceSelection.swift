import Foundation

/// Which backend to run on: `auto` (the first OpenCL GPU, else the CPU backend), `cpu`,
/// `cpu-reference` (the plain-loop twin), `opencl` (an OpenCL device, a GPU when there is one) or
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

    /// Decides which backend the selection means among `devices` (the discovery result, or the
    /// error discovery raised), and says why. Pure, so the rules are tested with fake device lists:
    ///
    /// - `auto`: the first GPU; else the CPU backend, saying why (no GPU among the devices found,
    ///   no OpenCL driver, or discovery failed with an error).
    /// - `opencl`: the first GPU; else the first accelerator; else the first device, saying that
    ///   no GPU was found. Fails when there is no device.
    /// - `opencl:N`: device N (numbers as `upadapter devices` shows them); fails when absent.
    /// - Throws: `ComputeError.deviceNotFound` listing what exists, or the discovery error for
    ///   an explicit `opencl` selection.
    public func choose(among devices: Result<[DeviceSummary], ComputeError>) throws -> DeviceChoice {
        func describe(_ device: DeviceSummary) -> String {
            "opencl:\(device.index) (\(device.name), \(device.type), \(device.platformName))"
        }
        func list(_ found: [DeviceSummary]) -> String {
            found.map { "opencl:\($0.index) \($0.name) (\($0.type))" }.joined(separator: ", ")
        }
        switch self {
        case .cpu:
            return DeviceChoice(target: .cpu, reason: "cpu: the CPU backend, as asked")
        case .cpuReference:
            return DeviceChoice(target: .cpuReference, reason: "cpu-reference: the plain-loop twin, as asked")
        case .auto:
            switch devices {
            case .failure(let error):
                return DeviceChoice(target: .cpu, reason: "auto → cpu: OpenCL discovery failed (\(error))")
            case .success(let found):
                if let gpu = found.first(where: { $0.type == .gpu }) {
                    return DeviceChoice(target: .openCL(index: gpu.index), reason: "auto → \(describe(gpu)): the first OpenCL GPU")
                }
                if found.isEmpty {
                    return DeviceChoice(target: .cpu, reason: "auto → cpu: no OpenCL device found (no driver installed?)")
                }
                return DeviceChoice(
                    target: .cpu,
                    reason: "auto → cpu: no OpenCL GPU among \(list(found)); the CPU backend outruns OpenCL CPU drivers (use --device opencl to force one)")
            }
        case .openCL(let index):
            let found: [DeviceSummary]
            switch devices {
            case .failure(let error): throw error
            case .success(let list): found = list
            }
            if let index {
                guard let device = found.first(where: { $0.index == index }) else {
                    throw ComputeError.deviceNotFound(requested: description, available: Self.selectableNames(found))
                }
                return DeviceChoice(target: .openCL(index: index), reason: "\(description) → \(describe(device))")
            }
            if let gpu = found.first(where: { $0.type == .gpu }) {
                let others = found.count - 1
                return DeviceChoice(target: .openCL(index: gpu.index),
                                    reason: "opencl → \(describe(gpu)): the first GPU" + (others > 0 ? " (\(others) other device\(others == 1 ? "" : "s"))" : ""))
            }
            if let accelerator = found.first(where: { $0.type == .accelerator }) {
                return DeviceChoice(target: .openCL(index: accelerator.index),
                                    reason: "opencl → \(describe(accelerator)): no GPU found, taking the first accelerator")
            }
            guard let first = found.first else {
                throw ComputeError.deviceNotFound(requested: description, available: Self.selectableNames(found))
            }
            return DeviceChoice(target: .openCL(index: first.index),
                                reason: "opencl → \(describe(first)): no GPU found, taking the first device")
        }
    }

    /// Opens the selected backend and says which device it took and why.
    /// - Parameter kernelVariants: kernel variants forced on an OpenCL device; `nil` reads
    ///   `UPADAPTER_KERNEL_VARIANT`.
    /// - Throws: `ComputeError.deviceNotFound` listing the available devices when the selected
    ///   one does not exist, or the OpenCL error that prevented opening it.
    public func open(kernelVariants: KernelVariantOverride? = nil) throws -> (backend: any Backend, choice: DeviceChoice) {
        let discovered: Result<[DeviceSummary], ComputeError>
        switch self {
        case .cpu, .cpuReference: discovered = .success([])
        case .auto, .openCL:
            do { discovered = .success(try OpenCLDiscovery.devices().map(\.summary)) } catch let error as ComputeError {
                discovered = .failure(error)
            } catch {
                discovered = .failure(.invalidArgument(operation: "OpenCL discovery", message: "\(error)"))
            }
        }
        let choice = try choose(among: discovered)
        switch choice.target {
        case .cpu: return (CPUBackend(), choice)
        case .cpuReference: return (ReferenceBackend(), choice)
        case .openCL(let index): return (try OpenCLBackend(deviceIndex: index, variants: kernelVariants), choice)
        }
    }

    /// Opens the selected backend (see `choose(among:)` for the rules).
    /// - Parameter kernelVariants: kernel variants forced on an OpenCL device; `nil` reads
    ///   `UPADAPTER_KERNEL_VARIANT`.
    /// - Throws: `ComputeError.deviceNotFound` listing the available devices when the selected
    ///   one does not exist, or the OpenCL error that prevented opening it.
    public func makeBackend(kernelVariants: KernelVariantOverride? = nil) throws -> any Backend {
        try open(kernelVariants: kernelVariants).backend
    }

    private static func selectableNames(_ found: [DeviceSummary]) -> [String] {
        ["cpu", "cpu-reference"] + found.map { "opencl:\($0.index) (\($0.name), \($0.type))" }
    }

    /// Names of every device that can be selected, with a short description.
    public static func availableDeviceNames() -> [String] {
        let openCL = ((try? OpenCLDiscovery.devices()) ?? []).map { "opencl:\($0.index) (\($0.name), \($0.type))" }
        return ["cpu", "cpu-reference"] + openCL
    }
}

/// What device discovery tells the device choice: enough to decide and to say why.
public struct DeviceSummary: Sendable, Equatable {
    /// The `N` of `opencl:N`.
    public let index: Int
    public let name: String
    public let type: OpenCLDeviceType
    public let platformName: String

    public init(index: Int, name: String, type: OpenCLDeviceType, platformName: String) {
        self.index = index
        self.name = name
        self.type = type
        self.platformName = platformName
    }
}

extension OpenCLDeviceInfo {
    /// The facts the device choice uses.
    public var summary: DeviceSummary { DeviceSummary(index: index, name: name, type: type, platformName: platformName) }
}

/// The backend a `DeviceSelection` resolved to, with a one-line reason for logs.
public struct DeviceChoice: Sendable, Equatable {
    public enum Target: Sendable, Equatable {
        case cpu
        case cpuReference
        case openCL(index: Int)
    }

    public let target: Target
    /// Which device was taken and why, e.g. `auto → cpu: no OpenCL GPU among opencl:0 … (CPU)`.
    public let reason: String

    /// Whether the reason is worth telling the user: a choice was made for them.
    public var isDecision: Bool { reason.contains("→") }
}
