import COpenCL
import Foundation

/// One argument of a kernel launch.
enum KernelArgument {
    case buffer(cl_mem)
    case int(Int32)
    case float(Float)
}

/// One OpenCL device opened for work, in the manner of tinygrad's `ops_cl.py`: a context and
/// one in-order command queue, buffers and their transfers, programs built once per (file,
/// defines) and cached (in memory, and as device binaries on disk in `ProgramBinaryCache`),
/// kernel objects, launches and their profiling events. It knows no operation: the operations'
/// files (`Operations/`) choose kernels, sizes and arguments and call `launch`.
///
/// A lock serialises argument setting and enqueueing (`clSetKernelArg` is not thread-safe) and
/// guards the caches, so one runtime may be used from several tasks at once.
final class OpenCLRuntime: @unchecked Sendable {
    // @unchecked: the mutable caches are guarded by `lock`; the handles are thread-safe.
    let device: OpenCLDeviceInfo
    let context: cl_context
    let queue: cl_command_queue
    /// A 4-byte buffer passed where a kernel takes an optional buffer that is absent.
    let placeholder: cl_mem
    /// Where compiled programs are kept between processes (`nil`: every program is compiled).
    let programCache: ProgramBinaryCache?
    /// Where kernel sources override the embedded ones.
    let kernelDirectory: URL?
    /// Whether every launch waits for its kernel and checks its status.
    let synchronizesEachLaunch: Bool
    let lock = NSLock()
    var programs: [ProgramKey: cl_program] = [:]
    var kernels: [KernelKey: cl_kernel] = [:]
    var fittedSizes: [KernelKey: Int] = [:]
    var buildStatistics = ProgramBuildStatistics()
    var events = LaunchEvents()
    let staging = StagingPool()
    /// Reports each launch's host time, under its kernel's name, to a profile when one is set.
    let launchHook = LaunchHook()

    /// Opens a context and a profiling-enabled queue on `device`.
    /// - Throws: the OpenCL error of context, queue or placeholder creation.
    init(device: OpenCLDeviceInfo, kernelDirectory: URL?, programCache: ProgramBinaryCache?, synchronizesEachLaunch: Bool) throws {
        self.device = device
        self.kernelDirectory = kernelDirectory
        self.programCache = programCache
        self.synchronizesEachLaunch = synchronizesEachLaunch
        var status: cl_int = 0
        var deviceID: cl_device_id? = device.handle.id
        guard let context = clCreateContext(nil, 1, &deviceID, nil, nil, &status), status == CL_SUCCESS else {
            throw ComputeError.openCL(call: "clCreateContext", status: status)
        }
        self.context = context
        // Profiling is enabled on the queue so that `collectsKernelTimes` can be switched on at
        // any time; events are only requested while it is on.
        let properties = cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE)
        guard let queue = clCreateCommandQueue(context, device.handle.id, properties, &status), status == CL_SUCCESS else {
            clReleaseContext(context)
            throw ComputeError.openCL(call: "clCreateCommandQueue", status: status)
        }
        self.queue = queue
        guard let placeholder = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), 4, nil, &status), status == CL_SUCCESS else {
            clReleaseCommandQueue(queue)
            clReleaseContext(context)
            throw ComputeError.openCL(call: "clCreateBuffer", status: status)
        }
        self.placeholder = placeholder
    }

    deinit {
        clFinish(queue)
        for (_, event) in events.pending { clReleaseEvent(event) }
        for kernel in kernels.values { clReleaseKernel(kernel) }
        for program in programs.values { clReleaseProgram(program) }
        clReleaseMemObject(placeholder)
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    func locked<Result>(_ body: () throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Waits until every command enqueued so far has finished.
    func finish() throws {
        try locked { try check(clFinish(queue), "clFinish") }
    }

    // MARK: Buffers

    /// A new read-write buffer of `bytes` bytes.
    /// - Throws: `ComputeError.allocationFailed` naming `deviceName` when the driver refuses it.
    func makeBuffer(bytes: Int, deviceName: String) throws -> cl_mem {
        guard UInt64(bytes) <= device.maxAllocationBytes else {
            throw ComputeError.allocationFailed(
                bytes: bytes, device: deviceName, reason: "larger than the device's maximum allocation of \(device.maxAllocationBytes) bytes")
        }
        var status: cl_int = 0
        guard let memory = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status), status == CL_SUCCESS else {
            throw ComputeError.allocationFailed(bytes: bytes, device: deviceName, reason: "clCreateBuffer returned \(openCLStatusName(status))")
        }
        return memory
    }

    /// A new read-only buffer holding a copy of `values` (the caller releases it).
    /// - Throws: `ComputeError.openCL` when the driver refuses it.
    func makeReadOnlyBuffer(copying values: [Int32]) throws -> cl_mem {
        var status: cl_int = 0
        let buffer = values.withUnsafeBytes { bytes in
            clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR), bytes.count,
                           UnsafeMutableRawPointer(mutating: bytes.baseAddress), &status)
        }
        guard let buffer, status == CL_SUCCESS else { throw ComputeError.openCL(call: "clCreateBuffer", status: status) }
        return buffer
    }

    /// Copies `values` into `memory`; large writes do not block (see `StagingPool`).
    func write(_ values: [Float], to memory: cl_mem) throws {
        guard !values.isEmpty else { return }
        let bytes = values.count * MemoryLayout<Float>.size
        guard bytes >= StagingPool.minimumBytes else {
            try locked {
                try values.withUnsafeBytes { bytes in
                    try check(clEnqueueWriteBuffer(queue, memory, cl_bool(CL_TRUE), 0, bytes.count, bytes.baseAddress, 0, nil, nil), "clEnqueueWriteBuffer")
                }
            }
            return
        }
        // Large uploads (a batch of patches, weights) do not block: the values are copied into a
        // reusable host buffer that the driver reads while the host goes on enqueueing; the
        // buffer returns to the pool when the write's event completes.
        // Bound the host memory held by uploads in flight (loading a model uploads every weight).
        if staging.inFlightBytes + bytes > StagingPool.inFlightLimit { try finish() }
        let staging = staging.take(bytes: bytes)
        values.withUnsafeBytes { staging.pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes) }
        try locked {
            var event: cl_event? = nil
            let status = clEnqueueWriteBuffer(queue, memory, cl_bool(CL_FALSE), 0, bytes, staging.pointer, 0, nil, &event)
            guard status == CL_SUCCESS, let event else {
                staging.pool?.give(staging)
                throw ComputeError.openCL(call: "clEnqueueWriteBuffer", status: status)
            }
            defer { clReleaseEvent(event) }
            let context = Unmanaged.passRetained(staging).toOpaque()
            let callback = clSetEventCallback(event, CL_COMPLETE, { _, _, userData in
                guard let userData else { return }
                let buffer = Unmanaged<StagingBuffer>.fromOpaque(userData).takeRetainedValue()
                buffer.pool?.give(buffer)
            }, context)
            if callback != CL_SUCCESS {
                // No callback: wait here and recycle the buffer ourselves.
                Unmanaged<StagingBuffer>.fromOpaque(context).release()
                try check(clWaitForEvents(1, [event]), "clWaitForEvents")
                staging.pool?.give(staging)
            }
        }
    }

    /// Reads `count` floats from `memory`, waiting for the commands before.
    func read(_ memory: cl_mem, count: Int) throws -> [Float] {
        var values = [Float](repeating: 0, count: count)
        guard !values.isEmpty else { return values }
        try locked {
            try values.withUnsafeMutableBytes { bytes in
                try check(clEnqueueReadBuffer(queue, memory, cl_bool(CL_TRUE), 0, bytes.count, bytes.baseAddress, 0, nil, nil), "clEnqueueReadBuffer")
            }
        }
        return values
    }

    // MARK: Launches

    /// Sets the arguments of `kernelName` (from its file, built with `defines`) and enqueues it
    /// over `global` (rounded by the caller to a multiple of `local` when `local` is given).
    /// With `synchronizesEachLaunch`, waits for it and throws `ComputeError.kernelFailed` naming
    /// it when it did not complete.
    func launch(_ kernelName: KernelName, defines: [KernelDefine: Int] = [:], global: [Int], local: [Int]? = nil,
                arguments: [KernelArgument]) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let key = KernelKey(kernelName, defines)
        try locked {
            let kernel = try cachedKernel(key)
            for (index, argument) in arguments.enumerated() {
                let status: cl_int
                switch argument {
                case .buffer(let memory):
                    var value: cl_mem? = memory
                    status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_mem?>.size, &value)
                case .int(let integer):
                    var value = integer
                    status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<Int32>.size, &value)
                case .float(let float):
                    var value = float
                    status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<Float>.size, &value)
                }
                if status != CL_SUCCESS { throw ComputeError.openCL(call: "clSetKernelArg(\(kernelName), \(index))", status: status) }
            }
            let enqueueStart = DispatchTime.now().uptimeNanoseconds
            var event: cl_event? = nil
            let wantsEvent = synchronizesEachLaunch || events.timing
            let status = withUnsafeMutablePointer(to: &event) { eventPointer in
                let eventOut = wantsEvent ? eventPointer : nil
                return global.withUnsafeBufferPointer { globalSizes in
                    guard let local else {
                        return clEnqueueNDRangeKernel(queue, kernel, cl_uint(global.count), nil, globalSizes.baseAddress, nil, 0, nil, eventOut)
                    }
                    return local.withUnsafeBufferPointer { localSizes in
                        clEnqueueNDRangeKernel(queue, kernel, cl_uint(global.count), nil, globalSizes.baseAddress, localSizes.baseAddress,
                                               0, nil, eventOut)
                    }
                }
            }
            if status != CL_SUCCESS { throw ComputeError.openCL(call: "clEnqueueNDRangeKernel(\(kernelName))", status: status) }
            events.launched.insert(kernelName)
            events.statistics.launches += 1
            let end = DispatchTime.now().uptimeNanoseconds
            events.statistics.hostSeconds += Double(end - start) / 1e9
            events.statistics.enqueueSeconds += Double(end - enqueueStart) / 1e9
            launchHook.profile?.record(kernelName.rawValue, seconds: Double(end - start) / 1e9)
            if events.timing, let event { events.pending.append((kernelName, event)) }
            if synchronizesEachLaunch {
                defer { if !events.timing, let event { clReleaseEvent(event) } }
                try finishAndCheck(event, kernel: key)
            }
            // Bounded: a long timed run folds its events into the totals now and then.
            if events.timing && events.pending.count >= Self.pendingEventLimit { try foldPendingEvents() }
        }
    }
}
