import Compute
import Foundation
import Testing

@Suite("Program binary cache: compiled programs kept per device, driver, source and defines")
struct ProgramCacheTests {
    @Test("The key changes with the device, platform, driver version, defines and source, and only with them")
    func keyFields() {
        let fields = ["GeForce", "NVIDIA CUDA", "550.54", "-cl-std=CL1.2 -D TILE_M=64", "__kernel void k() {}"]
        func key(_ values: [String]) -> String {
            ProgramBinaryCache.key(deviceName: values[0], platformName: values[1], driverVersion: values[2], options: values[3], source: values[4])
        }
        let base = key(fields)
        #expect(base == key(fields))
        #expect(base.count == 64)
        for index in fields.indices {
            var changed = fields
            changed[index] += " "
            #expect(key(changed) != base, "field \(index)")
        }
        // Moving text from one field to the next is another key (fields are length-prefixed).
        #expect(key(["GeForc", "eNVIDIA CUDA"] + fields.dropFirst(2)) != base)
    }

    @Test("The folder comes from UPADAPTER_PROGRAM_CACHE, XDG_CACHE_HOME or the home folder, and can be switched off")
    func folder() {
        #expect(ProgramBinaryCache.fromEnvironment([ProgramBinaryCache.directoryVariable: "off"]) == nil)
        #expect(ProgramBinaryCache.fromEnvironment([ProgramBinaryCache.directoryVariable: "/tmp/p"])?.directory.path == "/tmp/p")
        #expect(ProgramBinaryCache.fromEnvironment(["XDG_CACHE_HOME": "/c"])?.directory.path == "/c/upadapter/programs")
    }

    @Test("A second backend loads every program from the binaries the first stored, and computes the same")
    func secondBackendLoadsBinaries() throws {
        guard try openCLBackendForTesting() != nil else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-programs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cache = ProgramBinaryCache(directory: directory)
        var generator = SeededGenerator(seed: 17)
        let a = generator.uniform(count: 33 * 70), b = generator.uniform(count: 70 * 45)
        func product(_ backend: OpenCLBackend) throws -> [Float] {
            let c = try backend.makeTensor(shape: [33, 45])
            try backend.fill(c, with: .nan)
            try backend.matmul(try backend.upload(a, shape: [33, 70]), try backend.upload(b, shape: [70, 45]), into: c)
            let y = try backend.makeTensor(shape: [33, 45])
            try backend.softmaxRows(c, into: y, scale: 1, causalMask: false)
            return try backend.read(c) + backend.read(y)
        }

        let first = try OpenCLBackend(deviceIndex: 0, consultTuningRecord: false, programCache: cache)
        let firstResult = try product(first)
        let built = first.programBuildStatistics
        #expect(built.sourceBuilds > 0 && built.binaryLoads == 0)
        let stored = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".bin") }
        #expect(stored.count == built.sourceBuilds, "one binary per program built")

        let second = try OpenCLBackend(deviceIndex: 0, consultTuningRecord: false, programCache: cache)
        let secondResult = try product(second)
        let loaded = second.programBuildStatistics
        #expect(loaded.sourceBuilds == 0 && loaded.binaryLoads == built.sourceBuilds && loaded.refusedBinaries == 0)
        #expect(secondResult == firstResult, "a program from its binary computes bit for bit what the compiled one did")
        #expect(!secondResult.contains { $0.isNaN })

        // Damaged binaries are refused, replaced by a compile from source, and the result is the same.
        for name in stored { try Data("not a program".utf8).write(to: directory.appendingPathComponent(name)) }
        let third = try OpenCLBackend(deviceIndex: 0, consultTuningRecord: false, programCache: cache)
        #expect(try product(third) == firstResult)
        let rebuilt = third.programBuildStatistics
        #expect(rebuilt.refusedBinaries == stored.count && rebuilt.sourceBuilds == stored.count && rebuilt.binaryLoads == 0)
        let replaced = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".bin") }
        for name in replaced {
            #expect(try Data(contentsOf: directory.appendingPathComponent(name)) != Data("not a program".utf8), "\(name) replaced")
        }
    }

    @Test("Every kernel file builds, first from source and then from the cache (kernels bench's build figures)")
    func buildFigures() throws {
        guard let backend = try openCLBackendForTesting() else { return }
        let figures = try KernelBenchmark.programBuildFigures(deviceIndex: backend.device.index)
        #expect(figures.count == 2)
        #expect(figures.allSatisfy { $0.unit == "ms" && $0.value > 0 })
    }

    @Test("A kernel that does not compile reports its build log, not a failed tile fitting")
    func buildErrorSurvivesTileFitting() throws {
        guard try openCLBackendForTesting() != nil else { return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-broken-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let source = try KernelSources.source(of: "matmul.cl", overrideDirectory: nil)
        try (source + "\n#error this_is_not_opencl_c\n").write(to: folder.appendingPathComponent("matmul.cl"), atomically: true, encoding: .utf8)
        for variant in [MatmulVariant.tiled, .blocked] {
            let backend = try OpenCLBackend(deviceIndex: 0, kernelDirectory: folder, consultTuningRecord: false,
                                            matmulChoice: MatmulChoice(variant: variant), programCache: nil)
            let a = try backend.makeTensor(shape: [8, 8]), c = try backend.makeTensor(shape: [8, 8])
            do {
                try backend.matmul(a, a, into: c)
                Issue.record("\(variant): a broken matmul.cl built")
            } catch ComputeError.programBuildFailed(let file, _, let log) {
                #expect(file.hasPrefix("matmul.cl"))
                #expect(log.contains("this_is_not_opencl_c"), "\(variant): the log names the error: \(log)")
            } catch {
                Issue.record("\(variant): expected the build failure, got \(error)")
            }
        }
    }
}
