import COpenCL
import Foundation

// The runtime's programs and kernel objects: built on first use, from the binary cache where it
// holds them, and their work-group limits.

extension OpenCLRuntime {
    /// Builds every kernel file once with its default tunables (no defines), from the binary
    /// cache where it holds them: what `kernels bench` times as first and cached builds.
    /// - Returns: the number of programs built.
    /// - Throws: the build error of the first file that fails.
    func buildEveryFile() throws -> Int {
        try locked {
            for file in KernelFile.allCases { _ = try program(ProgramKey(file: file, defines: [])) }
            return KernelFile.allCases.count
        }
    }

    /// The built program for `key`; built on first use, from the binary cache when it holds
    /// one, else from source (then stored in the cache). Call with the lock held.
    func program(_ key: ProgramKey) throws -> cl_program {
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
    func cachedKernel(_ key: KernelKey) throws -> cl_kernel {
        if let cached = kernels[key] { return cached }
        let program = try program(key.program)
        var status: cl_int = 0
        guard let created = clCreateKernel(program, key.name.rawValue, &status), status == CL_SUCCESS else {
            throw ComputeError.openCL(call: "clCreateKernel(\(key.name))", status: status)
        }
        kernels[key] = created
        return created
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
}
