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

/// Runs every operation as OpenCL kernels on one device, through an `OpenCLRuntime` (one
/// context, one in-order queue, programs built once per (file, defines) and cached, in memory
/// and as device binaries on disk, keyed by device, driver, source and defines). One backend may
/// be used from several tasks at once.
///
/// Which kernel variant and which tunables each operation uses comes from `KernelTuning`, the
/// per-device table, with `--kernel-variant` / `UPADAPTER_KERNEL_VARIANT` able to force any
/// variant on any device (so PoCL in CI runs the GPU kernels too). The operations themselves live
/// with their families in `Operations/`.
public final class OpenCLBackend: Backend, @unchecked Sendable {
    // @unchecked: the runtime guards its own state; everything else is immutable.

    /// The environment variable that makes every launch finish and check its status before
    /// returning, so that a faulting kernel is reported at its own launch (slow; for debugging).
    public static let synchronizeVariable = "UPADAPTER_OPENCL_SYNC"

    public let device: OpenCLDeviceInfo
    /// The context, queue, program cache and launches this backend runs on.
    let runtime: OpenCLRuntime
    /// The per-device table of variants and tunables in use (tuning record and override applied).
    public let tuning: KernelTuning
    /// The measured choice of matrix-product kernel that replaced the table's, if any.
    public let tuningRecord: TuningRecord?

    /// Where compiled programs are kept between processes (`nil`: every program is compiled).
    public var programCache: ProgramBinaryCache? { runtime.programCache }
    /// Where kernel sources override the embedded ones (`UPADAPTER_KERNEL_DIR` by default).
    public var kernelDirectory: URL? { runtime.kernelDirectory }
    /// Whether every launch waits for its kernel and checks its status (`UPADAPTER_OPENCL_SYNC=1`).
    public var synchronizesEachLaunch: Bool { runtime.synchronizesEachLaunch }
    /// The hook each kernel launch reports its host time to, under the kernel's name.
    public var launchHook: LaunchHook { runtime.launchHook }
    /// A 4-byte buffer passed for an absent optional buffer argument.
    var placeholder: cl_mem { runtime.placeholder }

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
        let override = try variants ?? KernelVariantOverride.resolve(flag: nil)
        let environment = ProcessInfo.processInfo.environment
        let synchronizes = synchronizeEachLaunch ?? (environment[Self.synchronizeVariable].map { $0 != "" && $0 != "0" } ?? false)
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
        runtime = try OpenCLRuntime(device: device, kernelDirectory: kernelDirectory, programCache: programCache,
                                    synchronizesEachLaunch: synchronizes)
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
        let memory = try runtime.makeBuffer(bytes: bytes, deviceName: name)
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
        try runtime.write(values, to: memory)
    }

    public func read(_ tensor: Tensor) throws -> [Float] {
        try runtime.read(try memory(tensor, "read", "source"), count: tensor.count)
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
        try runtime.finish()
    }

    // MARK: Launches

    /// Enqueues `kernelName` built with `defines` over `global` (see `OpenCLRuntime.launch`).
    func launch(_ kernelName: KernelName, defines: [KernelDefine: Int] = [:], global: [Int], local: [Int]? = nil,
                arguments: [KernelArgument]) throws {
        try runtime.launch(kernelName, defines: defines, global: global, local: local, arguments: arguments)
    }

    /// Builds `kernel` with `defines` and creates its kernel object without launching it:
    /// `kernels check` uses this to prove that every kernel of every file compiles.
    /// - Returns: its `CL_KERNEL_WORK_GROUP_SIZE`.
    public func prepare(_ kernel: KernelName, defines: [KernelDefine: Int] = [:]) throws -> Int {
        try runtime.kernelWorkGroupSize(KernelKey(kernel, defines), buildFailureFits: false)
    }

    /// `CL_KERNEL_WORK_GROUP_SIZE` of `key` (see `OpenCLRuntime.kernelWorkGroupSize`).
    func kernelWorkGroupSize(_ key: KernelKey, buildFailureFits: Bool = true) throws -> Int {
        try runtime.kernelWorkGroupSize(key, buildFailureFits: buildFailureFits)
    }

    /// The first size that `step` accepts, cached per key (see `OpenCLRuntime.fitted`).
    func fitted(_ key: KernelKey, _ step: (Int) throws -> Int?) throws -> Int? {
        try runtime.fitted(key, step)
    }

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

    // MARK: Statistics

    /// Launch counts and host time per launch (`OpenCLLaunchStatistics`).
    public typealias LaunchStatistics = OpenCLLaunchStatistics
    /// Device time of one kernel (`OpenCLKernelTime`).
    public typealias KernelTime = OpenCLKernelTime

    /// Every kernel this backend has enqueued so far: how the tests prove that the checks over
    /// all variants reach every kernel of every file.
    public var launchedKernels: Set<KernelName> { runtime.locked { runtime.events.launched } }

    /// Launches since the backend opened (or since `resetLaunchStatistics`).
    public var launchStatistics: LaunchStatistics { runtime.locked { runtime.events.statistics } }

    /// Starts counting launches from zero.
    public func resetLaunchStatistics() { runtime.locked { runtime.events.statistics = LaunchStatistics() } }

    /// Whether each launch records an OpenCL event whose start and end times are read back by
    /// `kernelTimes()`: device time per kernel without a finish after every operation.
    public var collectsKernelTimes: Bool {
        get { runtime.locked { runtime.events.timing } }
        set { runtime.locked { runtime.events.timing = newValue } }
    }

    /// Device seconds per kernel since `collectsKernelTimes` was switched on (or since the last
    /// `resetKernelTimes`), largest first. Waits for the queue to finish.
    /// - Throws: `ComputeError.openCL` when the queue or an event fails.
    public func kernelTimes() throws -> [KernelTime] { try runtime.kernelTimes() }

    /// Forgets the kernel times gathered so far.
    public func resetKernelTimes() throws { try runtime.resetKernelTimes() }

    /// How this backend's programs were obtained so far: compiled, or loaded from the binary cache.
    public var programBuildStatistics: ProgramBuildStatistics { runtime.locked { runtime.buildStatistics } }

    /// Builds every kernel file once with its default tunables (no defines), from the binary
    /// cache where it holds them: what `kernels bench` times as first and cached builds.
    /// - Returns: the number of programs built.
    /// - Throws: the build error of the first file that fails.
    @discardableResult
    public func buildEveryFile() throws -> Int { try runtime.buildEveryFile() }
}
