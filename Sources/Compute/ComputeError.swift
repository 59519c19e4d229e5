/// Errors raised by the compute layer. Every case names what failed so that a message alone
/// is enough to find the cause.
public enum ComputeError: Error, CustomStringConvertible, Equatable {
    /// An OpenCL call returned a status other than `CL_SUCCESS`.
    case openCL(call: String, status: Int32)
    /// An OpenCL program failed to build; `log` is the compiler's build log.
    case programBuildFailed(file: String, device: String, log: String)
    /// A kernel file is neither embedded in the binary nor in `UPADAPTER_KERNEL_DIR`.
    case kernelSourceMissing(file: String)
    /// A tensor does not have the shape an operation needs.
    case shapeMismatch(operation: String, tensor: String, expected: String, actual: [Int])
    /// An argument is out of range or inconsistent.
    case invalidArgument(operation: String, message: String)
    /// A tensor belongs to another backend than the one asked to run the operation.
    case foreignTensor(operation: String, tensor: String, backend: String)
    /// A device allocation failed.
    case allocationFailed(bytes: Int, device: String, reason: String)
    /// The requested device does not exist; `available` lists what does.
    case deviceNotFound(requested: String, available: [String])
    /// A device specification could not be parsed.
    case invalidDeviceSpecification(String)
    /// A kernel-variant override (`--kernel-variant`, `UPADAPTER_KERNEL_VARIANT`) could not be parsed.
    case invalidKernelVariant(text: String, item: String)
    /// A kernel failed while running; reported at the launch that caused it when
    /// `UPADAPTER_OPENCL_SYNC=1` finishes the queue after every launch.
    case kernelFailed(kernel: String, status: Int32)

    public var description: String {
        switch self {
        case .openCL(let call, let status):
            return "OpenCL call \(call) failed with \(openCLStatusName(status)) (\(status))"
        case .programBuildFailed(let file, let device, let log):
            return "OpenCL program \(file) failed to build for \(device):\n\(log)"
        case .kernelSourceMissing(let file):
            return "kernel source \(file) is not embedded and not found in UPADAPTER_KERNEL_DIR"
        case .shapeMismatch(let operation, let tensor, let expected, let actual):
            return "\(operation): tensor \(tensor) has shape \(actual), expected \(expected)"
        case .invalidArgument(let operation, let message):
            return "\(operation): \(message)"
        case .foreignTensor(let operation, let tensor, let backend):
            return "\(operation): tensor \(tensor) does not belong to backend \(backend)"
        case .allocationFailed(let bytes, let device, let reason):
            return "could not allocate \(bytes) bytes on \(device): \(reason)"
        case .deviceNotFound(let requested, let available):
            return "device '\(requested)' not found; available: "
                + (available.isEmpty ? "none" : available.joined(separator: ", "))
        case .invalidDeviceSpecification(let text):
            return "invalid device '\(text)': expected auto, cpu, opencl or opencl:N"
        case .invalidKernelVariant(let text, let item):
            return "invalid kernel variant '\(item)' in '\(text)': expected auto, "
                + KernelVariants.Family.allCases.map(\.rawValue).joined(separator: ", ") + ", "
                + (MatmulVariant.allCases.map { "matmul=\($0)" } + RowVariant.allCases.map { "rows=\($0)" }).joined(separator: ", ")
                + " (comma-separated)"
        case .kernelFailed(let kernel, let status):
            return "OpenCL kernel \(kernel) failed with \(openCLStatusName(status)) (\(status)) (reported at its own launch: UPADAPTER_OPENCL_SYNC=1)"
        }
    }
}

/// The symbolic name of an OpenCL status code, such as `CL_OUT_OF_RESOURCES`.
public func openCLStatusName(_ status: Int32) -> String {
    switch status {
    case 0: return "CL_SUCCESS"
    case -1: return "CL_DEVICE_NOT_FOUND"
    case -2: return "CL_DEVICE_NOT_AVAILABLE"
    case -3: return "CL_COMPILER_NOT_AVAILABLE"
    case -4: return "CL_MEM_OBJECT_ALLOCATION_FAILURE"
    case -5: return "CL_OUT_OF_RESOURCES"
    case -6: return "CL_OUT_OF_HOST_MEMORY"
    case -7: return "CL_PROFILING_INFO_NOT_AVAILABLE"
    case -8: return "CL_MEM_COPY_OVERLAP"
    case -9: return "CL_IMAGE_FORMAT_MISMATCH"
    case -10: return "CL_IMAGE_FORMAT_NOT_SUPPORTED"
    case -11: return "CL_BUILD_PROGRAM_FAILURE"
    case -12: return "CL_MAP_FAILURE"
    case -13: return "CL_MISALIGNED_SUB_BUFFER_OFFSET"
    case -14: return "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST"
    case -15: return "CL_COMPILE_PROGRAM_FAILURE"
    case -16: return "CL_LINKER_NOT_AVAILABLE"
    case -17: return "CL_LINK_PROGRAM_FAILURE"
    case -18: return "CL_DEVICE_PARTITION_FAILED"
    case -19: return "CL_KERNEL_ARG_INFO_NOT_AVAILABLE"
    case -30: return "CL_INVALID_VALUE"
    case -31: return "CL_INVALID_DEVICE_TYPE"
    case -32: return "CL_INVALID_PLATFORM"
    case -33: return "CL_INVALID_DEVICE"
    case -34: return "CL_INVALID_CONTEXT"
    case -35: return "CL_INVALID_QUEUE_PROPERTIES"
    case -36: return "CL_INVALID_COMMAND_QUEUE"
    case -37: return "CL_INVALID_HOST_PTR"
    case -38: return "CL_INVALID_MEM_OBJECT"
    case -39: return "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR"
    case -40: return "CL_INVALID_IMAGE_SIZE"
    case -41: return "CL_INVALID_SAMPLER"
    case -42: return "CL_INVALID_BINARY"
    case -43: return "CL_INVALID_BUILD_OPTIONS"
    case -44: return "CL_INVALID_PROGRAM"
    case -45: return "CL_INVALID_PROGRAM_EXECUTABLE"
    case -46: return "CL_INVALID_KERNEL_NAME"
    case -47: return "CL_INVALID_KERNEL_DEFINITION"
    case -48: return "CL_INVALID_KERNEL"
    case -49: return "CL_INVALID_ARG_INDEX"
    case -50: return "CL_INVALID_ARG_VALUE"
    case -51: return "CL_INVALID_ARG_SIZE"
    case -52: return "CL_INVALID_KERNEL_ARGS"
    case -53: return "CL_INVALID_WORK_DIMENSION"
    case -54: return "CL_INVALID_WORK_GROUP_SIZE"
    case -55: return "CL_INVALID_WORK_ITEM_SIZE"
    case -56: return "CL_INVALID_GLOBAL_OFFSET"
    case -57: return "CL_INVALID_EVENT_WAIT_LIST"
    case -58: return "CL_INVALID_EVENT"
    case -59: return "CL_INVALID_OPERATION"
    case -60: return "CL_INVALID_GL_OBJECT"
    case -61: return "CL_INVALID_BUFFER_SIZE"
    case -62: return "CL_INVALID_MIP_LEVEL"
    case -63: return "CL_INVALID_GLOBAL_WORK_SIZE"
    case -64: return "CL_INVALID_PROPERTY"
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR"
    default: return "unknown OpenCL status"
    }
}
