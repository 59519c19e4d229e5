import Foundation
import COpenCL

/// Throws `ComputeError.openCL` naming `call` unless `status` is `CL_SUCCESS`. Every OpenCL call
/// in the project goes through this one helper.
@inline(__always)
func check(_ status: cl_int, _ call: String) throws {
    if status != CL_SUCCESS { throw ComputeError.openCL(call: call, status: status) }
}

/// An OpenCL device found by discovery, with the facts `upadapter devices` prints and the
/// backend uses to pick kernel variants.
public struct OpenCLDeviceInfo: Sendable {
    /// Position in the process-wide device list: the `N` of `opencl:N`.
    public let index: Int
    public let platformName: String
    public let platformVersion: String
    public let name: String
    public let vendor: String
    /// GPU, CPU, accelerator or other.
    public let type: OpenCLDeviceType
    public let computeUnits: Int
    public let globalMemoryBytes: UInt64
    public let localMemoryBytes: UInt64
    public let maxAllocationBytes: UInt64
    public let maxWorkGroupSize: Int
    public let openCLCVersion: String
    public let driverVersion: String
    /// Preferred float vector width (16 on AVX-512 CPUs under PoCL, often 1 on GPUs).
    public let preferredVectorWidth: Int
    let handle: DeviceHandle

    public var isGPU: Bool { type == .gpu }
}

/// The kind of an OpenCL device, from `CL_DEVICE_TYPE`.
public enum OpenCLDeviceType: String, Sendable, CaseIterable, CustomStringConvertible {
    case gpu = "GPU"
    case cpu = "CPU"
    case accelerator
    case other

    public var description: String { rawValue }
}

/// A `cl_device_id`. Device ids are immutable handles owned by the driver, valid for the
/// process's lifetime and usable from any thread, hence `@unchecked Sendable`.
final class DeviceHandle: @unchecked Sendable {
    let id: cl_device_id
    let platform: cl_platform_id
    init(id: cl_device_id, platform: cl_platform_id) {
        self.id = id
        self.platform = platform
    }
}

/// The process-wide result of OpenCL discovery. Swift runs a global's initialiser exactly once,
/// even under concurrent first use: PoCL crashes or reports no device when several threads
/// discover at the same time.
private let discoveryResult: Result<[OpenCLDeviceInfo], ComputeError> = {
    do { return .success(try discoverDevices()) } catch let error as ComputeError {
        return .failure(error)
    } catch {
        return .failure(.invalidArgument(operation: "OpenCL discovery", message: "\(error)"))
    }
}()

/// Every OpenCL device on every platform, discovered once per process.
public enum OpenCLDiscovery {
    /// The devices, numbered `opencl:0`, `opencl:1`, … in a stable order: platforms sorted by
    /// name and version (the ICD loader lists them in an unspecified order, typically that of the
    /// files in `/etc/OpenCL/vendors`), then each platform's devices in its driver's order. Empty
    /// when no OpenCL driver is installed.
    /// - Throws: `ComputeError.openCL` when a driver is installed but discovery fails.
    public static func devices() throws -> [OpenCLDeviceInfo] {
        try discoveryResult.get()
    }

    /// The order in which platforms are numbered: indices into `platforms` (name, version as the
    /// driver reports them) sorted by name, then version, then original position.
    public static func stablePlatformOrder(_ platforms: [(name: String, version: String)]) -> [Int] {
        platforms.indices.sorted { left, right in
            let a = platforms[left], b = platforms[right]
            if a.name != b.name { return a.name < b.name }
            if a.version != b.version { return a.version < b.version }
            return left < right
        }
    }
}

private func discoverDevices() throws -> [OpenCLDeviceInfo] {
    var platformCount: cl_uint = 0
    let status = clGetPlatformIDs(0, nil, &platformCount)
    // The ICD loader answers CL_PLATFORM_NOT_FOUND_KHR (-1001) when no driver is installed.
    if status == -1001 || platformCount == 0 { return [] }
    try check(status, "clGetPlatformIDs")
    var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
    try check(clGetPlatformIDs(platformCount, &platforms, nil), "clGetPlatformIDs")

    let found = try platforms.compactMap { $0 }.map { platform in
        (platform, name: try platformString(platform, cl_platform_info(CL_PLATFORM_NAME)),
         version: try platformString(platform, cl_platform_info(CL_PLATFORM_VERSION)))
    }
    var devices: [OpenCLDeviceInfo] = []
    for position in OpenCLDiscovery.stablePlatformOrder(found.map { ($0.name, $0.version) }) {
        let (platform, platformName, platformVersion) = found[position]
        var deviceCount: cl_uint = 0
        let deviceStatus = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount)
        if deviceStatus == CL_DEVICE_NOT_FOUND || deviceCount == 0 { continue }
        try check(deviceStatus, "clGetDeviceIDs")
        var ids = [cl_device_id?](repeating: nil, count: Int(deviceCount))
        try check(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &ids, nil), "clGetDeviceIDs")
        for case let id? in ids {
            let typeBits: cl_device_type = try deviceValue(id, CL_DEVICE_TYPE)
            let type: OpenCLDeviceType
            if typeBits & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { type = .gpu }
            else if typeBits & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { type = .cpu }
            else if typeBits & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { type = .accelerator }
            else { type = .other }
            devices.append(OpenCLDeviceInfo(
                index: devices.count,
                platformName: platformName,
                platformVersion: platformVersion,
                name: try deviceString(id, CL_DEVICE_NAME),
                vendor: try deviceString(id, CL_DEVICE_VENDOR),
                type: type,
                computeUnits: Int(try deviceValue(id, CL_DEVICE_MAX_COMPUTE_UNITS) as cl_uint),
                globalMemoryBytes: try deviceValue(id, CL_DEVICE_GLOBAL_MEM_SIZE),
                localMemoryBytes: try deviceValue(id, CL_DEVICE_LOCAL_MEM_SIZE),
                maxAllocationBytes: try deviceValue(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE),
                maxWorkGroupSize: Int(try deviceValue(id, CL_DEVICE_MAX_WORK_GROUP_SIZE) as Int),
                openCLCVersion: try deviceString(id, CL_DEVICE_OPENCL_C_VERSION),
                driverVersion: try deviceString(id, CL_DRIVER_VERSION),
                preferredVectorWidth: Int(try deviceValue(id, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT) as cl_uint),
                handle: DeviceHandle(id: id, platform: platform)))
        }
    }
    return devices
}

private func platformString(_ platform: cl_platform_id, _ parameter: cl_platform_info) throws -> String {
    var size = 0
    try check(clGetPlatformInfo(platform, parameter, 0, nil, &size), "clGetPlatformInfo")
    var bytes = [CChar](repeating: 0, count: size + 1)
    try check(clGetPlatformInfo(platform, parameter, size, &bytes, nil), "clGetPlatformInfo")
    return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        .trimmingCharacters(in: .whitespaces)
}

func deviceString(_ device: cl_device_id, _ parameter: Int32) throws -> String {
    var size = 0
    try check(clGetDeviceInfo(device, cl_device_info(parameter), 0, nil, &size), "clGetDeviceInfo")
    var bytes = [CChar](repeating: 0, count: size + 1)
    try check(clGetDeviceInfo(device, cl_device_info(parameter), size, &bytes, nil), "clGetDeviceInfo")
    return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        .trimmingCharacters(in: .whitespaces)
}

func deviceValue<Value: FixedWidthInteger>(_ device: cl_device_id, _ parameter: Int32) throws -> Value {
    var value: Value = 0
    try check(clGetDeviceInfo(device, cl_device_info(parameter), MemoryLayout<Value>.size, &value, nil), "clGetDeviceInfo")
    return value
}

