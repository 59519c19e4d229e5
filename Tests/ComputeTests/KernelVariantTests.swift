import Compute
import Foundation
import Testing

@Suite("Kernel variants: override parsing, the per-device table, kernel names")
struct KernelVariantTests {
    @Test("Overrides parse families, names and family=value pairs; later items win")
    func parsing() throws {
        #expect(try KernelVariantOverride(parsing: "auto") == .none)
        #expect(try KernelVariantOverride(parsing: "") == .none)
        #expect(try KernelVariantOverride(parsing: "gpu") == KernelVariantOverride(matmul: .blocked, rows: .groupPerRow))
        #expect(try KernelVariantOverride(parsing: "CPU") == KernelVariantOverride(matmul: .packed, rows: .itemPerRow))
        #expect(try KernelVariantOverride(parsing: "tiled") == KernelVariantOverride(matmul: .tiled))
        #expect(try KernelVariantOverride(parsing: "rows=groupPerRow") == KernelVariantOverride(rows: .groupPerRow))
        #expect(try KernelVariantOverride(parsing: "blocked") == KernelVariantOverride(matmul: .blocked))
        #expect(try KernelVariantOverride(parsing: "gpu, matmul=packed") == KernelVariantOverride(matmul: .packed, rows: .groupPerRow))
        #expect(try KernelVariantOverride(parsing: "itemperrow,matmul=TILED") == KernelVariantOverride(matmul: .tiled, rows: .itemPerRow))
        for bad in ["cuda", "matmul=groupPerRow", "rows=tiled", "matmul=", "gpu,fast"] {
            #expect(throws: ComputeError.self, "\(bad)") { try KernelVariantOverride(parsing: bad) }
        }
        do {
            _ = try KernelVariantOverride(parsing: "gpu,fast")
        } catch let error as ComputeError {
            #expect(error.description.contains("'fast'") && error.description.contains("matmul=tiled"), "\(error)")
        }
    }

    @Test("The flag wins over UPADAPTER_KERNEL_VARIANT, which wins over nothing")
    func resolution() throws {
        let environment = [KernelVariantOverride.environmentVariable: "gpu"]
        #expect(try KernelVariantOverride.resolve(flag: nil, environment: environment) == KernelVariantOverride(family: .gpu))
        #expect(try KernelVariantOverride.resolve(flag: "cpu", environment: environment) == KernelVariantOverride(family: .cpu))
        #expect(try KernelVariantOverride.resolve(flag: nil, environment: [:]) == .none)
        #expect(throws: ComputeError.self) {
            try KernelVariantOverride.resolve(flag: nil, environment: [KernelVariantOverride.environmentVariable: "bogus"])
        }
    }

    @Test("The per-device table picks by device kind, and an override replaces only what it names")
    func table() {
        let cpu = KernelTuning.forDevice(type: .cpu, maxWorkGroupSize: 4096, preferredVectorWidth: 8)
        #expect(cpu.variants == KernelVariants(family: .cpu))
        #expect(cpu.packedVectorWidth == 8 && cpu.trainerGroupLimit == 32 && cpu.rowsPerGroup == 64)
        for type in [OpenCLDeviceType.gpu, .accelerator, .other] {
            let gpu = KernelTuning.forDevice(type: type, maxWorkGroupSize: 1024, preferredVectorWidth: 1)
            #expect(gpu.variants == KernelVariants(family: .gpu), "\(type)")
            #expect(gpu.matmulTile == 64 && gpu.rowGroupLimit == 256 && gpu.trainerGroupLimit == 256)
        }
        // A device with small work-groups gets smaller tiles and groups.
        let small = KernelTuning.forDevice(type: .gpu, maxWorkGroupSize: 128, preferredVectorWidth: 4)
        #expect(small.matmulTile == 32 && small.rowGroupLimit == 128 && small.trainerGroupLimit == 128)
        let forced = KernelTuning.forDevice(type: .cpu, maxWorkGroupSize: 4096, preferredVectorWidth: 16,
                                            override: KernelVariantOverride(rows: .groupPerRow))
        #expect(forced.variants == KernelVariants(matmul: .packed, rows: .groupPerRow))
        #expect(forced.packedVectorWidth == 16)
        #expect(Set(KernelVariants.allCombinations).count == MatmulVariant.allCases.count * RowVariant.allCases.count)
    }

    @Test("Every kernel in the embedded files has a name in KernelName, in the right file, and no name is stale")
    func kernelNamesMatchSources() throws {
        var declared: [String: String] = [:]  // kernel → file
        let pattern = try Regex(#"__kernel\s+(?:__attribute__\(\(.*?\)\)\s*)?void\s+([A-Za-z_0-9]+)\s*\("#)
        for file in KernelSources.embeddedFiles {
            let source = try KernelSources.source(of: file, overrideDirectory: nil)
            for match in source.matches(of: pattern) {
                if let name = match.output[1].substring { declared[String(name)] = file }
            }
        }
        #expect(Set(KernelSources.embeddedFiles) == Set(KernelFile.allCases.map(\.rawValue)))
        for kernel in KernelName.allCases {
            #expect(declared[kernel.rawValue] == kernel.file.rawValue, "\(kernel) is declared in \(declared[kernel.rawValue] ?? "no file")")
        }
        let named = Set(KernelName.allCases.map(\.rawValue))
        #expect(Set(declared.keys).subtracting(named).isEmpty, "kernels without a KernelName: \(Set(declared.keys).subtracting(named))")
        #expect(KernelName.activation(.quickGELU) == .quickGELU && KernelName.activation(.gelu) == .gelu)
    }

    @Test("Every kernel builds on the OpenCL device and reports a work-group limit")
    func everyKernelBuilds() throws {
        guard let backend = try openCLBackendForTesting() else { return }
        for kernel in KernelName.allCases {
            let limit = try backend.prepare(kernel)
            #expect(limit >= 1, "\(kernel): CL_KERNEL_WORK_GROUP_SIZE \(limit)")
        }
    }

    @Test("The default OpenCL backend follows UPADAPTER_KERNEL_VARIANT, so CI can run every suite with each family")
    func defaultFollowsEnvironment() throws {
        guard let backend = try openCLBackendForTesting() else { return }
        let override = try KernelVariantOverride.resolve(flag: nil)
        #expect(backend.variants == KernelTuning.forDevice(backend.device, override: override).variants)
        #expect(backend.deviceDescription.contains(backend.variants.description))
    }
}

@Suite("Tuning record: the measured matrix-product choice")
struct TuningRecordTests {
    @Test("Records round-trip through the file, keep other devices, and the file can be switched off")
    func storeAndLoad() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-tuning-\(UUID().uuidString)/tuning.json")
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        let first = TuningRecord(matmul: .blocked, seconds: ["blocked": 0.001, "tiled": 0.002], shape: "s", date: "d")
        let second = TuningRecord(matmul: .packed, seconds: ["packed": 0.01], shape: "s", date: "d")
        try TuningRecord.store(first, key: "gpu", in: file)
        try TuningRecord.store(second, key: "cpu", in: file)
        #expect(TuningRecord.load(from: file) == ["gpu": first, "cpu": second])
        try "not json".write(to: file, atomically: true, encoding: .utf8)
        #expect(TuningRecord.load(from: file).isEmpty, "a damaged record is re-measured, not an error")
        #expect(TuningRecord.fileURL(environment: [TuningRecord.fileVariable: "off"]) == nil)
        #expect(TuningRecord.fileURL(environment: [TuningRecord.fileVariable: "/tmp/x.json"])?.path == "/tmp/x.json")
        #expect(TuningRecord.fileURL(environment: ["XDG_CACHE_HOME": "/c"])?.path == "/c/upadapter/kernel-tuning.json")
    }

    @Test("Measuring times every matmul variant and tile, checks each against the CPU backend and picks the fastest")
    func measurePicksFastest() throws {
        guard let backend = try openCLBackendForTesting() else { return }
        let candidates = MatmulChoice.candidates(for: backend.device)
        #expect(Set(candidates.map(\.variant)) == Set(MatmulVariant.allCases), "every variant is a candidate")
        #expect(candidates.filter { $0.variant == .blocked }.count > 1, "more than one tile of the GPU kernel is timed")
        // 61 is no multiple of any tile: the edges are exercised too.
        let record = try TuningRecord.measure(deviceIndex: 0, size: 61, repeats: 1, programCache: nil)
        #expect(record.failures == nil, "every candidate builds, runs and matches the CPU backend: \(record.failures ?? [:])")
        #expect(Set(record.seconds.keys) == Set(candidates.map(\.description)))
        let fastest = record.seconds.min { $0.value < $1.value }?.key
        #expect(record.choice.description == fastest)
        #expect(record.tile != nil)
    }

    @Test("A backend takes the kernel and tile of its device's record from the file it is given")
    func backendAppliesRecord() throws {
        guard let probe = try openCLBackendForTesting() else { return }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-tuning-\(UUID().uuidString)/tuning.json")
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        for choice in [MatmulChoice(variant: .tiled, tile: 32), MatmulChoice(variant: .blocked, tile: 128), MatmulChoice(variant: .packed, tile: 4)] {
            let record = TuningRecord(matmul: choice.variant, tile: choice.tile, seconds: [choice.description: 0.001], shape: "s", date: "d")
            try TuningRecord.store(record, key: TuningRecord.key(for: probe.device), in: file)
            // A fresh file per choice: the process keeps what it read per file and device.
            let copy = file.deletingLastPathComponent().appendingPathComponent("\(choice.variant).json")
            try FileManager.default.copyItem(at: file, to: copy)
            let backend = try OpenCLBackend(deviceIndex: 0, variants: KernelVariantOverride.none, tuningRecordFile: copy)
            #expect(backend.tuningRecord == record)
            #expect(backend.matmulVariant == choice.variant)
            let tile: Int
            switch choice.variant {
            case .tiled: tile = backend.tuning.matmulTile
            case .blocked: tile = backend.tuning.blockedTile
            case .packed: tile = backend.tuning.packedVectorWidth
            }
            #expect(tile == choice.tile, "\(choice)")
            // The product is still right with the recorded tile (odd sizes: edges padded).
            var generator = SeededGenerator(seed: 5)
            let a = generator.uniform(count: 37 * 45), b = generator.uniform(count: 29 * 45)
            let c = try backend.makeTensor(shape: [37, 29])
            try backend.matmul(try backend.upload(a, shape: [37, 45]), try backend.uploadConstant(b, shape: [29, 45]), into: c,
                               options: MatmulOptions(transposeB: true))
            let reference = ReferenceBackend()
            let expected = try reference.makeTensor(shape: [37, 29])
            try reference.matmul(try reference.upload(a, shape: [37, 45]), try reference.upload(b, shape: [29, 45]), into: expected,
                                 options: MatmulOptions(transposeB: true))
            let comparison = Comparison(actual: try backend.read(c), expected: try reference.read(expected), absoluteTolerance: 1e-4, relativeTolerance: 1e-4)
            #expect(comparison.passed, "\(choice): \(comparison)")
        }
    }

    @Test("Records written before tiles were tuned still load, with the table's tile")
    func oldRecordLoads() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-tuning-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        let old = #"{"gpu": {"matmul": "blocked", "seconds": {"blocked": 0.001, "tiled": 0.002}, "shape": "s", "date": "d"}}"#
        try old.write(to: file, atomically: true, encoding: .utf8)
        let record = try #require(TuningRecord.load(from: file)["gpu"])
        #expect(record.choice == MatmulChoice(variant: .blocked, tile: nil))
        var tuning = KernelTuning.forDevice(type: .gpu, maxWorkGroupSize: 256, preferredVectorWidth: 1)
        let tableTile = tuning.blockedTile
        tuning.apply(record.choice)
        #expect(tuning.variants.matmul == .blocked && tuning.blockedTile == tableTile)
    }

    @Test("An explicit matmul override wins over any record")
    func overrideWins() throws {
        guard try openCLBackendForTesting() != nil else { return }
        for variant in MatmulVariant.allCases {
            let backend = try OpenCLBackend(deviceIndex: 0, variants: KernelVariantOverride(matmul: variant))
            #expect(backend.matmulVariant == variant && backend.tuningRecord == nil)
        }
    }
}
