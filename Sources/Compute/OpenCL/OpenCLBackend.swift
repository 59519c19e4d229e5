import COpenCL
import Foundation

/// Device memory for `OpenCLBackend` tensors.
final class OpenCLStorage: TensorStorage, @unchecked Sendable {
    // @unchecked: a cl_mem is a reference-counted driver handle that may be used from any thread;
    // `arrangements` is guarded by `lock`.
    let memory: cl_mem
    let capacity: Int
    let owner: ObjectIdentifier
    /// A weight (`uploadConstant`): only read after its upload, so rearranged copies stay valid.
    let isConstant: Bool
    private let lock = NSLock()
    private var arrangements: [WeightArrangement: Tensor] = [:]

    init(memory: cl_mem, capacity: Int, owner: ObjectIdentifier, isConstant: Bool = false) {
        self.memory = memory
        self.capacity = capacity
        self.owner = owner
        self.isConstant = isConstant
    }

    deinit { clReleaseMemObject(memory) }

    /// The copy of this constant in `arrangement`, made by `make` on first request.
    func arranged(_ arrangement: WeightArrangement, make: () throws -> Tensor) rethrows -> Tensor {
        try lock.withLock {
            if let cached = arrangements[arrangement] { return cached }
            let made = try make()
            arrangements[arrangement] = made
            return made
        }
    }

    /// Drops every rearranged copy (the constant was written again).
    func forgetArrangements() { lock.withLock { arrangements.removeAll() } }
}

/// A rearranged copy of a weight that a product reads instead of the weight itself.
enum WeightArrangement: Hashable, Sendable {
    /// `pack_panels` of the `[inner][outer]` view given by the strides (`matmul_packed`'s B).
    case panels(inner: Int, outer: Int, panelWidth: Int, strideInner: Int, strideOuter: Int, batch: Int)
    /// The `[batch][columns][rows]` transpose of a `[batch][rows][columns]` weight (GPU products
    /// then read every weight untransposed).
    case transposed(batch: Int, rows: Int, columns: Int)
}

/// One argument of a kernel launch.
enum KernelArgument {
    case buffer(cl_mem)
    case int(Int32)
    case float(Float)
}

/// Runs every operation as OpenCL kernels on one device, with one context and one in-order
/// command queue. Programs are built once per (file, defines) and cached, in memory and as
/// device binaries on disk (`ProgramBinaryCache`, keyed by device, driver, source and defines);
/// kernel objects are cached too, and a lock serialises argument setting and enqueueing (`clSetKernelArg` is not
/// thread-safe), so one backend may be used from several tasks at once.
///
/// Which kernel variant and which tunables each operation uses comes from `KernelTuning`, the
/// per-device table, with `--kernel-variant` / `UPADAPTER_KERNEL_VARIANT` able to force any
/// variant on any device (so PoCL in CI runs the GPU kernels too).
public final class OpenCLBackend: Backend, @unchecked Sendable {
    // @unchecked: the mutable caches are guarded by `lock`; the handles are thread-safe.

    /// The environment variable that makes every launch finish and check its status before
    /// returning, so that a faulting kernel is reported at its own launch (slow; for debugging).
    public static let synchronizeVariable = "UPADAPTER_OPENCL_SYNC"

    public let device: OpenCLDeviceInfo
    let context: cl_context
    private let queue: cl_command_queue
    private let lock = NSLock()
    private var programs: [ProgramKey: cl_program] = [:]
    private var kernels: [KernelKey: cl_kernel] = [:]
    private var fittedSizes: [KernelKey: Int] = [:]
    private var launched: Set<KernelName> = []
    private var statistics = LaunchStatistics()
    private var timing = false
    private var pendingEvents: [(KernelName, cl_event)] = []
    private var kernelSeconds: [KernelName: (calls: Int, seconds: Double)] = [:]
    private let staging = StagingPool()
    private var buildStatistics = ProgramBuildStatistics()
    let placeholder: cl_mem
    /// Where compiled programs are kept between processes (`nil`: every program is compiled).
    public let programCache: ProgramBinaryCache?
    /// The per-device table of variants and tunables in use (tuning record and override applied).
    public let tuning: KernelTuning
    /// The measured choice of matrix-product kernel that replaced the table's, if any.
    public let tuningRecord: TuningRecord?
    /// Where kernel sources override the embedded ones (`UPADAPTER_KERNEL_DIR` by default).
    public let kernelDirectory: URL?
    /// Whether every launch waits for its kernel and checks its status (`UPADAPTER_OPENCL_SYNC=1`).
    public let synchronizesEachLaunch: Bool

    /// Every kernel this backend has enqueued so far: how the tests prove that the checks over
    /// all variants reach every kernel of every file.
    public var launchedKernels: Set<KernelName> { locked { launched } }

    /// The kernel variants in use.
    public var variants: KernelVariants { tuning.variants }
    /// The matrix-product kernel in use.
    public var matmulVariant: MatmulVariant { tuning.variants.matmul }
    /// The row-reduction layout in use.
    public var rowVariant: RowVariant { tuning.variants.rows }

    /// Opens device `index` of `OpenCLDiscovery.devices()`.
    /// - Throws: `ComputeError.deviceNotFound` for an index that does not exist,
    ///   `ComputeError.invalidKernelVariant` for an unreadable `UPADAPTER_KERNEL_VARIANT`, or the
    ///   OpenCL error of context or queue creation.
    /// - Parameters:
    ///   - variants: kernel variants forced over the device's table; `nil` reads
    ///     `UPADAPTER_KERNEL_VARIANT` (no override when unset).
    ///   - kernelDirectory: a folder whose `.cl` files replace the embedded ones.
    ///   - synchronizeEachLaunch: finish and check after every launch; `nil` reads `UPADAPTER_OPENCL_SYNC`.
    ///   - consultTuningRecord: let the device's `TuningRecord` pick the matrix-product kernel
    ///     and its tile when no override does (measuring it on first use for GPUs).
    ///   - tuningRecordFile: the record file consulted (`nil`: none).
    ///   - matmulChoice: a matrix-product kernel and tile forced over the table and the record
    ///     (what `kernels tune` times).
    ///   - programCache: where compiled programs are loaded from and stored (`nil`: none).
    public init(deviceIndex: Int = 0, variants: KernelVariantOverride? = nil,
                kernelDirectory: URL? = KernelSources.overrideDirectory, synchronizeEachLaunch: Bool? = nil,
                consultTuningRecord: Bool = true, tuningRecordFile: URL? = TuningRecord.fileURL(),
                matmulChoice: MatmulChoice? = nil,
                programCache: ProgramBinaryCache? = ProgramBinaryCache.fromEnvironment()) throws {
        self.kernelDirectory = kernelDirectory
        self.programCache = programCache
        let override = try variants ?? KernelVariantOverride.resolve(flag: nil)
        let environment = ProcessInfo.processInfo.environment
        synchronizesEachLaunch = synchronizeEachLaunch ?? (environment[Self.synchronizeVariable].map { $0 != "" && $0 != "0" } ?? false)
        let devices = try OpenCLDiscovery.devices()
        guard devices.indices.contains(deviceIndex) else {
            throw ComputeError.deviceNotFound(
                requested: "opencl:\(deviceIndex)", available: DeviceSelection.availableDeviceNames())
        }
        device = devices[deviceIndex]
        var tuning = KernelTuning.forDevice(device, override: override)
        tuningRecord = consultTuningRecord && override.matmul == nil && matmulChoice == nil
            ? TuningRecord.resolve(for: device, file: tuningRecordFile, measureIfMissing: true) : nil
        if let tuningRecord { tuning.apply(tuningRecord.choice) }
        if let matmulChoice { tuning.apply(matmulChoice) }
        self.tuning = tuning
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
        for (_, event) in pendingEvents { clReleaseEvent(event) }
        for kernel in kernels.values { clReleaseKernel(kernel) }
        for program in programs.values { clReleaseProgram(program) }
        clReleaseMemObject(placeholder)
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    public var name: String { "opencl:\(device.index)" }

    public var deviceDescription: String {
        "\(device.name) (\(device.type), \(device.platformName), driver \(device.driverVersion); kernels \(variants))"
    }

    // MARK: Memory

    public func makeTensor(shape: [Int]) throws -> Tensor {
        try allocate(shape: shape, isConstant: false)
    }

    private func allocate(shape: [Int], isConstant: Bool) throws -> Tensor {
        let count = shape.elementCount
        let bytes = max(count, 1) * MemoryLayout<Float>.size
        guard count < Int(Int32.max) else {
            throw ComputeError.allocationFailed(bytes: bytes, device: name, reason: "more than 2³¹ elements in one tensor")
        }
        guard UInt64(bytes) <= device.maxAllocationBytes else {
            throw ComputeError.allocationFailed(
                bytes: bytes, device: name, reason: "larger than the device's maximum allocation of \(device.maxAllocationBytes) bytes")
        }
        var status: cl_int = 0
        guard let memory = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status), status == CL_SUCCESS else {
            throw ComputeError.allocationFailed(bytes: bytes, device: name, reason: "clCreateBuffer returned \(openCLStatusName(status))")
        }
        return try Tensor(shape: shape, storage: OpenCLStorage(memory: memory, capacity: count, owner: ObjectIdentifier(self), isConstant: isConstant))
    }

    public func uploadConstant(_ values: [Float], shape: [Int]) throws -> Tensor {
        guard values.count == shape.elementCount else {
            throw ComputeError.shapeMismatch(operation: "write", tensor: "destination", expected: "\(values.count) elements", actual: shape)
        }
        let constant = try allocate(shape: shape, isConstant: true)
        try write(values, to: constant)
        return constant
    }

    /// The copy of constant `tensor` in `arrangement` (made by `make` once and kept with the
    /// constant), or what `make` returns now for any other tensor.
    func arranged(_ tensor: Tensor, _ arrangement: WeightArrangement, make: () throws -> Tensor) throws -> Tensor {
        guard let storage = tensor.storage as? OpenCLStorage, storage.isConstant else { return try make() }
        return try storage.arranged(arrangement, make: make)
    }

    func memory(_ tensor: Tensor, _ operation: String, _ name: String) throws -> cl_mem {
        guard let storage = tensor.storage as? OpenCLStorage, storage.owner == ObjectIdentifier(self) else {
            throw ComputeError.foreignTensor(operation: operation, tensor: name, backend: self.name)
        }
        return storage.memory
    }

    public func write(_ values: [Float], to tensor: Tensor) throws {
        guard values.count == tensor.count else {
            throw ComputeError.shapeMismatch(operation: "write", tensor: "destination", expected: "\(values.count) elements", actual: tensor.shape)
        }
        let memory = try memory(tensor, "write", "destination")
        if let storage = tensor.storage as? OpenCLStorage, storage.isConstant { storage.forgetArrangements() }
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
        if staging.inFlightBytes + bytes > StagingPool.inFlightLimit { try synchronize() }
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

    public func read(_ tensor: Tensor) throws -> [Float] {
        let memory = try memory(tensor, "read", "source")
        var values = [Float](repeating: 0, count: tensor.count)
        guard !values.isEmpty else { return values }
        try locked {
            try values.withUnsafeMutableBytes { bytes in
                try check(clEnqueueReadBuffer(queue, memory, cl_bool(CL_TRUE), 0, bytes.count, bytes.baseAddress, 0, nil, nil), "clEnqueueReadBuffer")
            }
        }
        return values
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try requireSameCount(source, destination, operation: "copy")
        let count = source.count
        guard count > 0 else { return }
        try launch(.copyValues, global: [roundUp(count, 64)], arguments: [
            .int(Int32(count)), .buffer(try memory(source, "copy", "source")), .buffer(try memory(destination, "copy", "destination")),
        ])
    }

    public func fill(_ tensor: Tensor, with value: Float) throws {
        let count = tensor.count
        guard count > 0 else { return }
        try launch(.fillValue, global: [roundUp(count, 64)], arguments: [
            .int(Int32(count)), .float(value), .buffer(try memory(tensor, "fill", "tensor")),
        ])
    }

    public func synchronize() throws {
        try locked { try check(clFinish(queue), "clFinish") }
    }

    // MARK: Operations live with their families in Operations/.

    // MARK: Programs and launches

    /// Launches the row reduction `family` in the layout of `rowVariant`: over one work-group
    /// per row, or (the `_serial` kernel, which takes the row count first) one work-item per row.
    func launchRows(_ family: RowKernel, rows: Int, width: Int,
                            parameters: [KernelArgument], buffers: [KernelArgument]) throws {
        let kernel = family.kernel(rowVariant)
        switch rowVariant {
        case .groupPerRow:
            let group = try fittedGroupSize(kernel, preferred: reductionGroupSize(width: width, limit: tuning.rowGroupLimit))
            try launch(kernel, defines: [.groupSize: group], global: [rows * group], local: [group],
                       arguments: parameters + buffers)
        case .itemPerRow:
            let group = tuning.rowsPerGroup
            try launch(kernel, global: [roundUp(rows, group)], local: [group],
                       arguments: [.int(Int32(rows))] + parameters + buffers)
        }
    }

    /// A power-of-two work-group size for one-row-per-group reductions: about a quarter of the
    /// row's width, between 32 (or `limit`, if smaller) and `limit`.
    func reductionGroupSize(width: Int, limit: Int) -> Int {
        var size = min(32, limit)
        while size < limit && size * 4 < width { size *= 2 }
        return min(size, limit)
    }

    /// The largest power of two ≤ `preferred` at which `kernel`, built with `GROUP_SIZE` set to
    /// it, accepts a work-group of that size (`CL_KERNEL_WORK_GROUP_SIZE`, which can be below the
    /// device limit for kernels that use many registers or much local memory).
    /// - Throws: the build error, or `ComputeError.invalidArgument` when not even 1 fits.
    /// `defines` are the kernel's other defines, fixed while the size is searched.
    func fittedGroupSize(_ kernel: KernelName, preferred: Int, defines: [KernelDefine: Int] = [:]) throws -> Int {
        func key(_ size: Int) -> KernelKey { KernelKey(kernel, defines.merging([.groupSize: size]) { _, size in size }) }
        let fitting = try fitted(key(preferred)) { size in
            let fits = try kernelWorkGroupSize(key(size)) >= size
            return fits ? size : (size > 1 ? size / 2 : nil)
        }
        guard let fitting else {
            // A build error of the source itself is the better message: raise it if there is one.
            _ = try kernelWorkGroupSize(key(preferred), buildFailureFits: false)
            throw ComputeError.invalidArgument(operation: kernel.rawValue, message: "no work-group size fits the kernel on \(device.name)")
        }
        return fitting
    }

    /// The first size that `step` accepts, starting from the `GROUP_SIZE` or `TILE_M` of `key`
    /// and following what `step` returns for a size that does not fit (`nil`: give up); cached
    /// per key, so launches after the first pay one dictionary look-up.
    func fitted(_ key: KernelKey, _ step: (Int) throws -> Int?) throws -> Int? {
        if let size = locked({ fittedSizes[key] }) { return size }
        var size: Int? = key.defines.first { $0.define == .groupSize || $0.define == .tileM }?.value
        var accepted: Int? = nil
        while let candidate = size {
            let next = try step(candidate)
            if next == candidate { accepted = candidate; break }
            size = next
        }
        if let accepted { locked { fittedSizes[key] = accepted } }
        return accepted
    }

    /// `CL_KERNEL_WORK_GROUP_SIZE` of `key`: the largest work-group it can be launched with.
    /// A build failure (a required work-group size the device cannot run fails to build on some
    /// drivers) counts as 0 unless `buildFailureFits` is false, when it is thrown.
    func kernelWorkGroupSize(_ key: KernelKey, buildFailureFits: Bool = true) throws -> Int {
        try locked {
            let kernel: cl_kernel
            do {
                kernel = try cachedKernel(key)
            } catch let error as ComputeError {
                guard buildFailureFits, case .programBuildFailed = error else { throw error }
                return 0
            }
            var size = 0
            try check(clGetKernelWorkGroupInfo(kernel, device.handle.id, cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE),
                                               MemoryLayout<Int>.size, &size, nil),
                      "clGetKernelWorkGroupInfo(\(key.name))")
            return size
        }
    }

    private func locked<Result>(_ body: () throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// How this backend's programs were obtained so far: compiled, or loaded from the binary cache.
    public var programBuildStatistics: ProgramBuildStatistics { locked { buildStatistics } }

    /// Builds every kernel file once with its default tunables (no defines), from the binary
    /// cache where it holds them: what `kernels bench` times as first and cached builds.
    /// - Returns: the number of programs built.
    /// - Throws: the build error of the first file that fails.
    @discardableResult
    public func buildEveryFile() throws -> Int {
        try locked {
            for file in KernelFile.allCases { _ = try program(ProgramKey(file: file, defines: [])) }
            return KernelFile.allCases.count
        }
    }

    /// The built program for `key`; built on first use, from the binary cache when it holds
    /// one, else from source (then stored in the cache). Call with the lock held.
    private func program(_ key: ProgramKey) throws -> cl_program {
        if let program = programs[key] { return program }
        let options = key.buildOptions
        let file = key.file.rawValue
        let source = try KernelSources.source(of: file, overrideDirectory: kernelDirectory)
        let started = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        let cacheKey = programCache.map { _ in
            ProgramBinaryCache.key(deviceName: device.name, platformName: device.platformName,
                                   driverVersion: device.driverVersion, options: options, source: source)
        }
        if let programCache, let cacheKey, let binary = programCache.load(cacheKey) {
            if let program = programFromBinary(binary, options: options) {
                programs[key] = program
                buildStatistics.binaryLoads += 1
                buildStatistics.binarySeconds += elapsed()
                return program
            }
            // A binary of another driver build, or damaged: build from source and replace it.
            programCache.remove(cacheKey)
            buildStatistics.refusedBinaries += 1
        }
        var status: cl_int = 0
        let program: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            var length = strlen(text)
            return clCreateProgramWithSource(context, 1, &pointer, &length, &status)
        }
        guard let program, status == CL_SUCCESS else { throw ComputeError.openCL(call: "clCreateProgramWithSource", status: status) }
        var deviceID: cl_device_id? = device.handle.id
        let buildStatus = clBuildProgram(program, 1, &deviceID, options, nil, nil)
        if buildStatus != CL_SUCCESS {
            let log = (try? buildLog(program)) ?? "(no build log)"
            clReleaseProgram(program)
            if buildStatus == CL_BUILD_PROGRAM_FAILURE {
                throw ComputeError.programBuildFailed(file: file + " [\(options)]", device: device.name, log: log)
            }
            throw ComputeError.openCL(call: "clBuildProgram(\(file))", status: buildStatus)
        }
        programs[key] = program
        // A cache that cannot be written only costs the next process a compile.
        if let programCache, let cacheKey, let binary = try? programBinary(program), !binary.isEmpty { try? programCache.store(binary, for: cacheKey) }
        buildStatistics.sourceBuilds += 1
        buildStatistics.sourceSeconds += elapsed()
        return program
    }

    /// A program created from `binary` and built for this device, or `nil` when the driver
    /// refuses the binary.
    private func programFromBinary(_ binary: [UInt8], options: String) -> cl_program? {
        var status: cl_int = 0, binaryStatus: cl_int = 0
        var deviceID: cl_device_id? = device.handle.id
        var length = binary.count
        let program: cl_program? = binary.withUnsafeBufferPointer { bytes in
            var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
            return clCreateProgramWithBinary(context, 1, &deviceID, &length, &pointer, &binaryStatus, &status)
        }
        guard let program else { return nil }
        guard status == CL_SUCCESS, binaryStatus == CL_SUCCESS,
              clBuildProgram(program, 1, &deviceID, options, nil, nil) == CL_SUCCESS else {
            clReleaseProgram(program)
            return nil
        }
        return program
    }

    /// The device binary of a built program (`CL_PROGRAM_BINARIES`, one device).
    private func programBinary(_ program: cl_program) throws -> [UInt8] {
        var size = 0
        try check(clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil),
                  "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)")
        guard size > 0 else { return [] }
        var binary = [UInt8](repeating: 0, count: size)
        try binary.withUnsafeMutableBufferPointer { bytes in
            var pointer: UnsafeMutablePointer<UInt8>? = bytes.baseAddress
            try check(clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES), MemoryLayout<UnsafeMutablePointer<UInt8>?>.size,
                                       &pointer, nil), "clGetProgramInfo(CL_PROGRAM_BINARIES)")
        }
        return binary
    }

    private func buildLog(_ program: cl_program) throws -> String {
        var size = 0
        try check(clGetProgramBuildInfo(program, device.handle.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size), "clGetProgramBuildInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try check(clGetProgramBuildInfo(program, device.handle.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil), "clGetProgramBuildInfo")
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The kernel object of `key`, created (and its program built) on first use. Call with the lock held.
    private func cachedKernel(_ key: KernelKey) throws -> cl_kernel {
        if let cached = kernels[key] { return cached }
        let program = try program(key.program)
        var status: cl_int = 0
        guard let created = clCreateKernel(program, key.name.rawValue, &status), status == CL_SUCCESS else {
            throw ComputeError.openCL(call: "clCreateKernel(\(key.name))", status: status)
        }
        kernels[key] = created
        return created
    }

    /// Builds `kernel` with `defines` and creates its kernel object without launching it:
    /// `kernels check` uses this to prove that every kernel of every file compiles.
    /// - Returns: its `CL_KERNEL_WORK_GROUP_SIZE`.
    public func prepare(_ kernel: KernelName, defines: [KernelDefine: Int] = [:]) throws -> Int {
        try kernelWorkGroupSize(KernelKey(kernel, defines), buildFailureFits: false)
    }

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
            let wantsEvent = synchronizesEachLaunch || timing
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
            launched.insert(kernelName)
            statistics.launches += 1
            let end = DispatchTime.now().uptimeNanoseconds
            statistics.hostSeconds += Double(end - start) / 1e9
            statistics.enqueueSeconds += Double(end - enqueueStart) / 1e9
            if timing, let event { pendingEvents.append((kernelName, event)) }
            if synchronizesEachLaunch {
                defer { if !timing, let event { clReleaseEvent(event) } }
                try finishAndCheck(event, kernel: key)
            }
            // Bounded: a long timed run folds its events into the totals now and then.
            if timing && pendingEvents.count >= Self.pendingEventLimit { try foldPendingEvents() }
        }
    }

    // MARK: Launch statistics and kernel times

    /// Kernel launches and the host time spent issuing them (argument setting and enqueueing,
    /// from the call to `launch` until the enqueue returned; device time excluded), with the part
    /// spent inside the driver's `clEnqueueNDRangeKernel` apart: on a busy CPU driver that call
    /// can wait for the driver's own worker threads.
    public struct LaunchStatistics: Sendable, Equatable, Codable {
        public var launches = 0
        public var hostSeconds = 0.0
        /// The part of `hostSeconds` spent in `clEnqueueNDRangeKernel`.
        public var enqueueSeconds = 0.0
        /// Mean host time per launch in microseconds.
        public var hostMicrosecondsPerLaunch: Double { perLaunch(hostSeconds) }
        /// Mean time per launch in this backend (kernel look-up, argument setting), in microseconds.
        public var backendMicrosecondsPerLaunch: Double { perLaunch(hostSeconds - enqueueSeconds) }
        /// Mean time per launch in the driver's enqueue call, in microseconds.
        public var enqueueMicrosecondsPerLaunch: Double { perLaunch(enqueueSeconds) }

        private func perLaunch(_ seconds: Double) -> Double { launches == 0 ? 0 : seconds / Double(launches) * 1e6 }
    }

    /// Launches since the backend opened (or since `resetLaunchStatistics`).
    public var launchStatistics: LaunchStatistics { locked { statistics } }

    /// Starts counting launches from zero.
    public func resetLaunchStatistics() { locked { statistics = LaunchStatistics() } }

    /// Whether each launch records an OpenCL event whose start and end times are read back by
    /// `kernelTimes()`: device time per kernel without a finish after every operation.
    public var collectsKernelTimes: Bool {
        get { locked { timing } }
        set { locked { timing = newValue } }
    }

    /// Device time of one kernel, from OpenCL profiling events.
    public struct KernelTime: Sendable, Codable {
        public let kernel: String
        public let calls: Int
        public let seconds: Double
    }

    /// Device seconds per kernel since `collectsKernelTimes` was switched on (or since the last
    /// `resetKernelTimes`), largest first. Waits for the queue to finish.
    /// - Throws: `ComputeError.openCL` when the queue or an event fails.
    public func kernelTimes() throws -> [KernelTime] {
        try locked {
            try foldPendingEvents()
            return kernelSeconds.map { KernelTime(kernel: $0.key.rawValue, calls: $0.value.calls, seconds: $0.value.seconds) }
                .sorted { $0.seconds > $1.seconds }
        }
    }

    /// Timed launches whose events are held at most before they are folded into the totals.
    static let pendingEventLimit = 4096

    /// Waits for the queue, adds the device time of every pending event to the per-kernel
    /// totals and releases the events. Call with the lock held.
    private func foldPendingEvents() throws {
        try check(clFinish(queue), "clFinish")
        defer {
            for (_, event) in pendingEvents { clReleaseEvent(event) }
            pendingEvents.removeAll()
        }
        for (kernel, event) in pendingEvents {
            var started: cl_ulong = 0, ended: cl_ulong = 0
            try check(clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START), MemoryLayout<cl_ulong>.size, &started, nil),
                      "clGetEventProfilingInfo(\(kernel))")
            try check(clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END), MemoryLayout<cl_ulong>.size, &ended, nil),
                      "clGetEventProfilingInfo(\(kernel))")
            let previous = kernelSeconds[kernel] ?? (0, 0)
            kernelSeconds[kernel] = (previous.calls + 1, previous.seconds + Double(ended &- started) / 1e9)
        }
    }

    /// Forgets the kernel times gathered so far.
    public func resetKernelTimes() throws {
        _ = try kernelTimes()
        locked { kernelSeconds.removeAll() }
    }

    /// Waits for the queue and throws `kernelFailed` naming `key` when its event reports an error.
    private func finishAndCheck(_ event: cl_event?, kernel key: KernelKey) throws {
        let name = key.name.rawValue + (key.defines.isEmpty ? "" : " [\(key.buildOptions)]")
        let finished = clFinish(queue)
        if finished != CL_SUCCESS { throw ComputeError.kernelFailed(kernel: name, status: finished) }
        guard let event else { return }
        var executionStatus: cl_int = 0
        try check(clGetEventInfo(event, cl_event_info(CL_EVENT_COMMAND_EXECUTION_STATUS), MemoryLayout<cl_int>.size, &executionStatus, nil),
                  "clGetEventInfo(\(name))")
        if executionStatus < 0 { throw ComputeError.kernelFailed(kernel: name, status: executionStatus) }
    }
}

/// A host buffer that an asynchronous upload reads from.
final class StagingBuffer: @unchecked Sendable {
    // @unchecked: owned by one upload at a time; handed between threads only through the pool's lock.
    let pointer: UnsafeMutableRawPointer
    let capacity: Int
    /// The pool it returns to (weak: buffers still in flight when the backend closes just free).
    weak var pool: StagingPool?

    init(capacity: Int, pool: StagingPool) {
        pointer = .allocate(byteCount: capacity, alignment: 64)
        self.capacity = capacity
        self.pool = pool
    }

    deinit { pointer.deallocate() }
}

/// Reusable host buffers for non-blocking uploads: a buffer is taken for each large write and
/// given back by the write's completion callback (a driver thread), so a steady stream of
/// same-sized batches allocates nothing after the first.
final class StagingPool: @unchecked Sendable {
    // @unchecked: `free` is guarded by `lock`.
    /// Writes below this size stay blocking: copying them costs less than the bookkeeping.
    static let minimumBytes = 1 << 16
    /// Buffers kept for reuse at most.
    static let keep = 8
    /// Bytes of uploads in flight above which a write first waits for the queue.
    static let inFlightLimit = 256 << 20
    private let lock = NSLock()
    private var free: [StagingBuffer] = []
    private var taken = 0

    /// Bytes of the buffers currently held by uploads.
    var inFlightBytes: Int { lock.withLock { taken } }

    func take(bytes: Int) -> StagingBuffer {
        let buffer = lock.withLock {
            if let index = free.firstIndex(where: { $0.capacity >= bytes && $0.capacity <= 2 * bytes }) {
                return free.remove(at: index)
            }
            return nil
        } ?? StagingBuffer(capacity: bytes, pool: self)
        lock.withLock { taken += buffer.capacity }
        return buffer
    }

    func give(_ buffer: StagingBuffer) {
        lock.withLock {
            taken -= buffer.capacity
            if free.count >= Self.keep { free.removeFirst() }
            free.append(buffer)
        }
    }
}

func roundUp(_ value: Int, _ multiple: Int) -> Int {
    (value + multiple - 1) / multiple * multiple
}
