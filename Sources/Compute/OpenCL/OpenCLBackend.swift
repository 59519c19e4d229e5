import COpenCL
import Foundation

/// Device memory for `OpenCLBackend` tensors.
final class OpenCLStorage: TensorStorage, @unchecked Sendable {
    // @unchecked: a cl_mem is a reference-counted driver handle that may be used from any thread.
    let memory: cl_mem
    let capacity: Int
    let owner: ObjectIdentifier

    init(memory: cl_mem, capacity: Int, owner: ObjectIdentifier) {
        self.memory = memory
        self.capacity = capacity
        self.owner = owner
    }

    deinit { clReleaseMemObject(memory) }
}

/// One argument of a kernel launch.
enum KernelArgument {
    case buffer(cl_mem)
    case int(Int32)
    case float(Float)
}

/// Runs every operation as OpenCL kernels on one device, with one context and one in-order
/// command queue. Programs are built once per (file, defines) and cached; kernel objects are
/// cached too, and a lock serialises argument setting and enqueueing (`clSetKernelArg` is not
/// thread-safe), so one backend may be used from several tasks at once.
public final class OpenCLBackend: Backend, @unchecked Sendable {
    // @unchecked: the mutable caches are guarded by `lock`; the handles are thread-safe.

    /// Which matrix-product kernel runs; by default `vector` on CPU devices, `tiled` elsewhere.
    public enum MatmulVariant: String, Sendable, CaseIterable {
        /// Local-memory tiles, register blocks spread over the work-group (GPUs).
        case tiled
        /// Explicit SIMD register blocks over operands packed in panels, no local memory (CPU drivers).
        case packed
    }

    /// How row reductions (softmax, layer norm, L2 normalisation) are laid out; by default
    /// `itemPerRow` on CPU devices, `groupPerRow` elsewhere.
    public enum RowVariant: String, Sendable, CaseIterable {
        /// One work-group per row, tree reduction in local memory (GPUs).
        case groupPerRow
        /// One work-item per row, float8 loops, no barriers (CPU drivers).
        case itemPerRow
    }

    public let device: OpenCLDeviceInfo
    private let context: cl_context
    private let queue: cl_command_queue
    private let lock = NSLock()
    private var programs: [String: cl_program] = [:]
    private var kernels: [String: cl_kernel] = [:]
    private let placeholder: cl_mem
    /// The matrix-product kernel in use.
    public let matmulVariant: MatmulVariant
    /// The row-reduction layout in use.
    public let rowVariant: RowVariant
    /// Where kernel sources override the embedded ones (`UPADAPTER_KERNEL_DIR` by default).
    public let kernelDirectory: URL?

    /// Opens device `index` of `OpenCLDiscovery.devices()`.
    /// - Throws: `ComputeError.deviceNotFound` for an index that does not exist, or the
    ///   OpenCL error of context or queue creation.
    /// - Parameters:
    ///   - matmulVariant: the matrix-product kernel; by default chosen from the device type.
    ///   - kernelDirectory: a folder whose `.cl` files replace the embedded ones.
    public init(deviceIndex: Int = 0, matmulVariant: MatmulVariant? = nil, rowVariant: RowVariant? = nil,
                kernelDirectory: URL? = KernelSources.overrideDirectory) throws {
        self.kernelDirectory = kernelDirectory
        let devices = try OpenCLDiscovery.devices()
        guard devices.indices.contains(deviceIndex) else {
            throw ComputeError.deviceNotFound(
                requested: "opencl:\(deviceIndex)", available: DeviceSelection.availableDeviceNames())
        }
        device = devices[deviceIndex]
        var status: cl_int = 0
        var deviceID: cl_device_id? = device.handle.id
        guard let context = clCreateContext(nil, 1, &deviceID, nil, nil, &status), status == CL_SUCCESS else {
            throw ComputeError.openCL(call: "clCreateContext", status: status)
        }
        self.context = context
        guard let queue = clCreateCommandQueue(context, device.handle.id, 0, &status), status == CL_SUCCESS else {
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
        self.matmulVariant = matmulVariant ?? (device.type == "CPU" ? .packed : .tiled)
        self.rowVariant = rowVariant ?? (device.type == "CPU" ? .itemPerRow : .groupPerRow)
    }

    deinit {
        clFinish(queue)
        for kernel in kernels.values { clReleaseKernel(kernel) }
        for program in programs.values { clReleaseProgram(program) }
        clReleaseMemObject(placeholder)
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    public var name: String { "opencl:\(device.index)" }

    public var deviceDescription: String {
        "\(device.name) (\(device.type), \(device.platformName), driver \(device.driverVersion))"
    }

    // MARK: Memory

    public func makeTensor(shape: [Int]) throws -> Tensor {
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
        return try Tensor(shape: shape, storage: OpenCLStorage(memory: memory, capacity: count, owner: ObjectIdentifier(self)))
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
        guard !values.isEmpty else { return }
        try locked {
            try values.withUnsafeBytes { bytes in
                try check(clEnqueueWriteBuffer(queue, memory, cl_bool(CL_TRUE), 0, bytes.count, bytes.baseAddress, 0, nil, nil), "clEnqueueWriteBuffer")
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
        try launch("layout.cl", "copy_values", global: [roundUp(count, 64)], arguments: [
            .int(Int32(count)), .buffer(try memory(source, "copy", "source")), .buffer(try memory(destination, "copy", "destination")),
        ])
    }

    public func fill(_ tensor: Tensor, with value: Float) throws {
        let count = tensor.count
        guard count > 0 else { return }
        try launch("elementwise.cl", "fill_value", global: [roundUp(count, 64)], arguments: [
            .int(Int32(count)), .float(value), .buffer(try memory(tensor, "fill", "tensor")),
        ])
    }

    public func synchronize() throws {
        try locked { try check(clFinish(queue), "clFinish") }
    }

    // MARK: Operations

    public func matmul(_ a: Tensor, _ b: Tensor, bias: Tensor?, into c: Tensor, options: MatmulOptions) throws {
        let g = try validateMatmul(a, b, bias: bias, c, options)
        guard g.m > 0, g.n > 0, g.batch > 0 else { return }
        let memoryA = try memory(a, "matmul", "A"), memoryB = try memory(b, "matmul", "B")
        let memoryC = try memory(c, "matmul", "C")
        let memoryBias = try bias.map { try memory($0, "matmul", "bias") } ?? placeholder
        let common: (Int32, Int32) -> [KernelArgument] = { strideA, strideB in
            [.int(Int32(g.m)), .int(Int32(g.n)), .int(Int32(g.k)), .int(strideA), .int(strideB),
             .float(options.alpha), .float(options.beta), .int(bias == nil ? 0 : 1)]
        }
        switch matmulVariant {
        case .tiled:
            let tile = device.maxWorkGroupSize >= 256 ? 64 : 32
            let defines = ["TILE_M": tile, "TILE_N": tile, "TILE_K": 16, "WORK_M": 4, "WORK_N": 4,
                           "TRANSPOSE_A": options.transposeA ? 1 : 0, "TRANSPOSE_B": options.transposeB ? 1 : 0]
            let threads = tile / 4
            try launch("matmul.cl", "matmul_tiled", defines: defines,
                       global: [roundUp(g.n, tile) / 4, roundUp(g.m, tile) / 4, g.batch], local: [threads, threads, 1],
                       arguments: common(Int32(g.strideA), Int32(g.strideB)) + [.buffer(memoryA), .buffer(memoryB), .buffer(memoryBias), .buffer(memoryC)])
        case .packed:
            // The register block fits the vector registers: 32 of 16 floats with AVX-512,
            // 16 of 8 with AVX2, fewer and narrower elsewhere.
            let vectorWidth = [16, 8, 4].first { $0 <= max(device.preferredVectorWidth, 4) } ?? 4
            let rowsPerItem = vectorWidth == 16 ? 12 : (vectorWidth == 8 ? 6 : 4), vectors = 2
            let panelWidth = vectorWidth * vectors
            let rowPanels = (g.m + rowsPerItem - 1) / rowsPerItem, columnPanels = (g.n + panelWidth - 1) / panelWidth
            let batchA = g.strideA == 0 ? 1 : g.batch, batchB = g.strideB == 0 ? 1 : g.batch
            let packedA = try makeTensor(shape: [batchA, rowPanels * rowsPerItem, g.k])
            let packedB = try makeTensor(shape: [batchB, columnPanels * panelWidth, g.k])
            // op(A)ᵀ is the [K][M] view of A; op(B) is the [K][N] view of B.
            try packPanels(memoryA, inner: g.k, outer: g.m, panelWidth: rowsPerItem,
                           strideInner: options.transposeA ? g.m : 1, strideOuter: options.transposeA ? 1 : g.k,
                           batch: batchA, into: packedA)
            try packPanels(memoryB, inner: g.k, outer: g.n, panelWidth: panelWidth,
                           strideInner: options.transposeB ? 1 : g.n, strideOuter: options.transposeB ? g.k : 1,
                           batch: batchB, into: packedB)
            try launch("matmul.cl", "matmul_packed",
                       defines: ["WORK_M": rowsPerItem, "VECTORS": vectors, "VECTOR_WIDTH": vectorWidth],
                       global: [columnPanels, rowPanels, g.batch], local: [1, 1, 1],
                       arguments: common(Int32(g.strideA == 0 ? 0 : packedA.count / batchA), Int32(g.strideB == 0 ? 0 : packedB.count / batchB))
                           + [.buffer(try memory(packedA, "matmul", "packed A")), .buffer(try memory(packedB, "matmul", "packed B")),
                              .buffer(memoryBias), .buffer(memoryC)])
        }
    }

    /// Packs the `[inner][outer]` view of each batch matrix of `source` (element (k, o) at
    /// `k · strideInner + o · strideOuter`) into panels of `panelWidth` columns of that view.
    private func packPanels(_ source: cl_mem, inner: Int, outer: Int, panelWidth: Int, strideInner: Int, strideOuter: Int,
                            batch: Int, into packed: Tensor) throws {
        try launch("layout.cl", "pack_panels", global: [roundUp(outer, panelWidth), inner, batch], local: nil, arguments: [
            .int(Int32(inner)), .int(Int32(outer)), .int(Int32(panelWidth)), .int(Int32(strideInner)), .int(Int32(strideOuter)),
            .int(Int32(inner * outer)), .buffer(source), .buffer(try memory(packed, "matmul", "packed operand")),
        ])
    }

    public func softmaxRows(_ x: Tensor, into y: Tensor, scale: Float, causalMask: Bool) throws {
        let (rows, width) = try validateSoftmax(x, y, causalMask: causalMask)
        guard rows > 0 else { return }
        let buffers: [KernelArgument] = [.buffer(try memory(x, "softmax", "x")), .buffer(try memory(y, "softmax", "y"))]
        let parameters: [KernelArgument] = [.int(Int32(width)), .float(scale), .int(causalMask ? 1 : 0)]
        try launchRows("softmax.cl", "softmax_rows", rows: rows, width: width, parameters: parameters, buffers: buffers)
    }

    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float, into y: Tensor) throws {
        let (rows, width) = try validateLayerNorm(x, weight: weight, bias: bias, y)
        guard rows > 0 else { return }
        try launchRows("layer_norm.cl", "layer_norm", rows: rows, width: width, parameters: [.int(Int32(width)), .float(epsilon)], buffers: [
            .buffer(try memory(x, "layerNorm", "x")), .buffer(try memory(weight, "layerNorm", "weight")),
            .buffer(try memory(bias, "layerNorm", "bias")), .buffer(try memory(y, "layerNorm", "y")),
        ])
    }

    public func l2NormalizeRows(_ x: Tensor, into y: Tensor) throws {
        let (rows, width) = try rowsAndWidth(x, operation: "l2Normalize", name: "x")
        try requireSameCount(x, y, operation: "l2Normalize")
        guard rows > 0 else { return }
        try launchRows("normalize.cl", "l2_normalize_rows", rows: rows, width: width, parameters: [.int(Int32(width))], buffers: [
            .buffer(try memory(x, "l2Normalize", "x")), .buffer(try memory(y, "l2Normalize", "y")),
        ])
    }

    public func cosineSimilarity(_ a: Tensor, _ b: Tensor, into c: Tensor) throws {
        let (m, n, width) = try validateCosine(a, b, c)
        let normalizedA = try makeTensor(shape: [m, width]), normalizedB = try makeTensor(shape: [n, width])
        try l2NormalizeRows(a, into: normalizedA)
        try l2NormalizeRows(b, into: normalizedB)
        try matmul(normalizedA, normalizedB, into: try c.reshaped([m, n]), options: MatmulOptions(transposeB: true))
    }

    public func activation(_ kind: Activation, _ x: Tensor, into y: Tensor) throws {
        try requireSameCount(x, y, operation: "activation")
        let count = x.count
        guard count > 0 else { return }
        try launch("elementwise.cl", kind == .quickGELU ? "quick_gelu" : "gelu", global: [roundUp(count, 64)], arguments: [
            .int(Int32(count)), .buffer(try memory(x, "activation", "x")), .buffer(try memory(y, "activation", "y")),
        ])
    }

    public func add(_ a: Tensor, _ b: Tensor, into c: Tensor) throws {
        try validateAdd(a, b, c)
        let count = a.count
        guard count > 0 else { return }
        try launch("elementwise.cl", "add", global: [roundUp(count, 64)], arguments: [
            .int(Int32(count)), .int(Int32(b.count)),
            .buffer(try memory(a, "add", "a")), .buffer(try memory(b, "add", "b")), .buffer(try memory(c, "add", "c")),
        ])
    }

    public func scale(_ x: Tensor, by factor: Float, into y: Tensor) throws {
        try requireSameCount(x, y, operation: "scale")
        let count = x.count
        guard count > 0 else { return }
        try launch("elementwise.cl", "scale", global: [roundUp(count, 64)], arguments: [
            .int(Int32(count)), .float(factor), .buffer(try memory(x, "scale", "x")), .buffer(try memory(y, "scale", "y")),
        ])
    }

    public func gatherRows(_ table: Tensor, indices: [Int32], into y: Tensor) throws {
        let (_, width) = try validateGather(table, indices: indices, y)
        guard !indices.isEmpty else { return }
        var status: cl_int = 0
        let indexBuffer = indices.withUnsafeBytes { bytes in
            clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR), bytes.count,
                           UnsafeMutableRawPointer(mutating: bytes.baseAddress), &status)
        }
        guard let indexBuffer, status == CL_SUCCESS else { throw ComputeError.openCL(call: "clCreateBuffer", status: status) }
        defer { clReleaseMemObject(indexBuffer) }  // the driver keeps it alive until the kernel ran
        try launch("layout.cl", "gather_rows", global: [roundUp(width, 16), indices.count], local: nil, arguments: [
            .int(Int32(width)), .buffer(try memory(table, "gatherRows", "table")), .buffer(indexBuffer),
            .buffer(try memory(y, "gatherRows", "output")),
        ])
    }

    public func permute(_ x: Tensor, permutation: [Int], into y: Tensor) throws {
        let (outputShape, inputStrides) = try validatePermute(x, permutation: permutation, y)
        let count = x.count
        guard count > 0 else { return }
        let padding = 6 - outputShape.count
        let sizes = [Int](repeating: 1, count: padding) + outputShape
        let strides = [Int](repeating: 0, count: padding) + inputStrides
        try launch("layout.cl", "permute", global: [roundUp(count, 64)], arguments:
            [.int(Int32(count))] + sizes.map { .int(Int32($0)) } + strides.map { .int(Int32($0)) }
            + [.buffer(try memory(x, "permute", "x")), .buffer(try memory(y, "permute", "y"))])
    }

    // MARK: Programs and launches

    /// Launches a row reduction in the layout of `rowVariant`: `kernel` over one work-group per
    /// row, or `kernel_serial` (which takes the row count first) over one work-item per row.
    private func launchRows(_ file: String, _ kernel: String, rows: Int, width: Int,
                            parameters: [KernelArgument], buffers: [KernelArgument]) throws {
        switch rowVariant {
        case .groupPerRow:
            let group = reductionGroupSize(width: width)
            try launch(file, kernel, defines: ["GROUP_SIZE": group], global: [rows * group], local: [group],
                       arguments: parameters + buffers)
        case .itemPerRow:
            let group = 64  // rows per work-group: measured best on PoCL (16: −10–40 %, 256: −25 %)
            try launch(file, kernel + "_serial", global: [roundUp(rows, group)], local: [group],
                       arguments: [.int(Int32(rows))] + parameters + buffers)
        }
    }

    /// A power-of-two work-group size for one-row-per-group reductions: about a quarter of the
    /// row's width, between 32 and min(256, the device limit).
    private func reductionGroupSize(width: Int) -> Int {
        let limit = min(256, device.maxWorkGroupSize)
        var size = 32
        while size < limit && size * 4 < width { size *= 2 }
        return min(size, limit)
    }

    private func locked<Result>(_ body: () throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// The built program for `file` with `defines`; built on first use. Call with the lock held.
    private func program(_ file: String, defines: [String: Int]) throws -> cl_program {
        let options = (["-cl-std=CL1.2"] + defines.sorted { $0.key < $1.key }.map { "-D \($0.key)=\($0.value)" })
            .joined(separator: " ")
        let key = file + "|" + options
        if let program = programs[key] { return program }
        let source = try KernelSources.source(of: file, overrideDirectory: kernelDirectory)
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
        return program
    }

    private func buildLog(_ program: cl_program) throws -> String {
        var size = 0
        try check(clGetProgramBuildInfo(program, device.handle.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size), "clGetProgramBuildInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try check(clGetProgramBuildInfo(program, device.handle.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil), "clGetProgramBuildInfo")
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Sets the arguments of `kernel` from `file` and enqueues it over `global` (rounded by the
    /// caller to a multiple of `local` when `local` is given).
    func launch(_ file: String, _ kernelName: String, defines: [String: Int] = [:], global: [Int], local: [Int]? = nil,
                arguments: [KernelArgument]) throws {
        try locked {
            let program = try program(file, defines: defines)
            let key = "\(file)|\(defines.sorted { $0.key < $1.key })|\(kernelName)"
            let kernel: cl_kernel
            if let cached = kernels[key] {
                kernel = cached
            } else {
                var status: cl_int = 0
                guard let created = clCreateKernel(program, kernelName, &status), status == CL_SUCCESS else {
                    throw ComputeError.openCL(call: "clCreateKernel(\(kernelName))", status: status)
                }
                kernels[key] = created
                kernel = created
            }
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
                try check(status, "clSetKernelArg(\(kernelName), \(index))")
            }
            let status = global.withUnsafeBufferPointer { globalSizes in
                guard let local else {
                    return clEnqueueNDRangeKernel(queue, kernel, cl_uint(global.count), nil, globalSizes.baseAddress, nil, 0, nil, nil)
                }
                return local.withUnsafeBufferPointer { localSizes in
                    clEnqueueNDRangeKernel(queue, kernel, cl_uint(global.count), nil, globalSizes.baseAddress, localSizes.baseAddress, 0, nil, nil)
                }
            }
            try check(status, "clEnqueueNDRangeKernel(\(kernelName))")
        }
    }
}

func roundUp(_ value: Int, _ multiple: Int) -> Int {
    (value + multiple - 1) / multiple * multiple
}
