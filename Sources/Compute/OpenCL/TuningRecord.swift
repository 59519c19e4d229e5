import Foundation
import Support

/// A matrix-product kernel with its tile: one candidate of `kernels tune`, and what a
/// `TuningRecord` keeps for a device.
public struct MatmulChoice: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The kernel.
    public var variant: MatmulVariant
    /// `tiled`, `blocked`: the C tile per work-group (`TILE_M` = `TILE_N`); `packed`: the float
    /// vector width of the register block. `nil`: the device table's.
    public var tile: Int?

    public init(variant: MatmulVariant, tile: Int? = nil) {
        self.variant = variant
        self.tile = tile
    }

    /// `blocked/64`, or the variant alone without a tile.
    public var description: String { tile.map { "\(variant)/\($0)" } ?? variant.rawValue }

    /// Every kernel and tile worth timing on `device`: tiles whose work-group the device can run
    /// (`tiled` 32, 64; `blocked` 32, 64, 128) and every vector width of `packed` (4, 8, 16).
    public static func candidates(for device: OpenCLDeviceInfo) -> [MatmulChoice] {
        candidates(table: KernelTuning.forDevice(device), maxWorkGroupSize: device.maxWorkGroupSize)
    }

    /// The candidates for a device whose table is `table`.
    public static func candidates(table: KernelTuning, maxWorkGroupSize: Int) -> [MatmulChoice] {
        func runs(_ tile: Int, _ work: Int) -> Bool { (tile / work) * (tile / work) <= maxWorkGroupSize }
        return [32, 64].filter { runs($0, table.matmulWork) }.map { MatmulChoice(variant: .tiled, tile: $0) }
            + [32, 64, 128].filter { $0 >= 4 * table.blockedWork && runs($0, table.blockedWork) }.map { MatmulChoice(variant: .blocked, tile: $0) }
            + [4, 8, 16].map { MatmulChoice(variant: .packed, tile: $0) }
    }
}

extension KernelTuning {
    /// Uses the kernel of `choice`, and its tile when it names one.
    public mutating func apply(_ choice: MatmulChoice) {
        variants.matmul = choice.variant
        guard let tile = choice.tile else { return }
        switch choice.variant {
        case .tiled: matmulTile = tile
        case .blocked: blockedTile = tile
        case .packed: packedVectorWidth = tile
        }
    }
}

/// The per-device record of which matrix-product kernel and tile are fastest, measured rather
/// than guessed: every candidate (`MatmulChoice.candidates`) is timed on a linear layer's product
/// (the weight a constant, as the encoder's are) and checked against the CPU backend; the fastest
/// correct one is kept in a small JSON file, keyed like CLBlast's database by device name,
/// platform and driver version (a driver update times again).
///
/// GPUs and accelerators are timed automatically the first time a backend opens them (seconds);
/// CPU drivers keep their table's choice (`packed`, measured best on PoCL) unless
/// `upadapter kernels tune` records otherwise. `--kernel-variant matmul=…` always wins, and
/// `upadapter devices` shows the record. The file is `$UPADAPTER_TUNING_FILE`, else
/// `$XDG_CACHE_HOME/upadapter/kernel-tuning.json`, else `~/.cache/upadapter/kernel-tuning.json`;
/// `UPADAPTER_TUNING_FILE=off` disables reading, timing and writing.
public struct TuningRecord: Sendable, Codable, Equatable {
    /// The variant chosen: the fastest measured.
    public var matmul: MatmulVariant
    /// The tile of the chosen variant (see `MatmulChoice.tile`); `nil` in records written before
    /// tiles were tuned (the table's tile then stands).
    public var tile: Int?
    /// Median seconds of the timed product, per candidate (`blocked/64`, …).
    public var seconds: [String: Double]
    /// Candidates that failed to build, run or match the CPU backend, with the reason.
    public var failures: [String: String]?
    /// The product timed, e.g. `1024x768 · (1024x768)ᵀ`.
    public var shape: String
    /// When it was measured (ISO 8601).
    public var date: String

    public init(matmul: MatmulVariant, tile: Int? = nil, seconds: [String: Double], failures: [String: String]? = nil,
                shape: String, date: String) {
        self.matmul = matmul
        self.tile = tile
        self.seconds = seconds
        self.failures = failures
        self.shape = shape
        self.date = date
    }

    /// The kernel and tile chosen.
    public var choice: MatmulChoice { MatmulChoice(variant: matmul, tile: tile) }

    /// The environment variable naming the record file, or `off`.
    public static let fileVariable = "UPADAPTER_TUNING_FILE"

    /// The record file in force, or `nil` when records are switched off.
    public static func fileURL(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        if let path = environment[fileVariable], !path.isEmpty {
            return path == "off" ? nil : URL(fileURLWithPath: path)
        }
        let cache = environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return cache.appendingPathComponent("upadapter").appendingPathComponent("kernel-tuning.json")
    }

    /// The key of `device` in the file.
    public static func key(for device: OpenCLDeviceInfo) -> String {
        "\(device.name) | \(device.platformName) | driver \(device.driverVersion)"
    }

    /// Every record in `file` (empty when it is missing or unreadable: a damaged record is
    /// re-measured, not an error).
    public static func load(from file: URL) -> [String: TuningRecord] {
        guard let data = try? Data(contentsOf: file),
              let records = try? JSONDecoder().decode([String: TuningRecord].self, from: data) else { return [:] }
        return records
    }

    /// Adds `record` for `key` to `file`, keeping the others; written to a temporary file and
    /// renamed, so concurrent readers never see half a file.
    /// - Throws: the file-system error when the folder cannot be created or the file written.
    public static func store(_ record: TuningRecord, key: String, in file: URL) throws {
        let lock = recordLock
        try lock.withLock {
            var records = load(from: file)
            records[key] = record
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            let data = try encoder.encode(records)
            do throws(AtomicFileError) {
                try AtomicFile.write(data, to: file)
            } catch {
                throw ComputeError.invalidArgument(operation: "tuning record", message: "cannot write \(file.path): \(error.reason)")
            }
        }
    }

    /// Times every candidate kernel and tile on `device` and returns the record (not stored).
    /// - Parameters:
    ///   - size: the product `[size, k] · [size, k]ᵀ` with `k = 3 · size / 4` (a linear layer's
    ///     layout, its weight uploaded as a constant so that the kernels read their pre-arranged copy).
    ///   - repeats: timed runs per candidate after a warm-up; the median counts.
    ///   - candidates: what to time (`nil`: `MatmulChoice.candidates(for:)`).
    ///   - programCache: where the candidates' programs are cached.
    ///   - progress: called after each candidate with its seconds, or the reason it failed.
    /// - Throws: `ComputeError.deviceNotFound` for a missing device; `ComputeError.invalidArgument`
    ///   listing the failures when no candidate ran correctly (a candidate that fails to build,
    ///   run, or match the CPU backend within 1e-3 relative is left out and its reason kept).
    public static func measure(
        deviceIndex: Int, size: Int = 1024, repeats: Int = 3, candidates: [MatmulChoice]? = nil,
        programCache: ProgramBinaryCache? = ProgramBinaryCache.fromEnvironment(),
        progress: (MatmulChoice, Result<Double, Error>) -> Void = { _, _ in }
    ) throws -> TuningRecord {
        let devices = try OpenCLDiscovery.devices()
        guard let device = devices.first(where: { $0.index == deviceIndex }) else {
            throw ComputeError.deviceNotFound(requested: "opencl:\(deviceIndex)", available: DeviceSelection.availableDeviceNames())
        }
        let k = max(3 * size / 4, 1)
        var generator = SeededGenerator(seed: 3)
        let valuesA = generator.uniform(count: size * k), valuesB = generator.uniform(count: size * k)
        let options = MatmulOptions(transposeB: true)
        let expected: [Float] = try {
            let cpu = CPUBackend()
            let c = try cpu.makeTensor(shape: [size, size])
            try cpu.matmul(try cpu.upload(valuesA, shape: [size, k]), try cpu.upload(valuesB, shape: [size, k]), into: c, options: options)
            return try cpu.read(c)
        }()
        var seconds: [String: Double] = [:], failures: [String: String] = [:]
        for candidate in candidates ?? MatmulChoice.candidates(for: device) {
            do {
                let backend = try OpenCLBackend(deviceIndex: deviceIndex, consultTuningRecord: false, matmulChoice: candidate,
                                                programCache: programCache)
                let a = try backend.upload(valuesA, shape: [size, k]), b = try backend.uploadConstant(valuesB, shape: [size, k])
                let c = try backend.makeTensor(shape: [size, size])
                let median = try KernelBenchmark.medianSeconds(repeats: repeats, synchronize: backend.synchronize) {
                    try backend.matmul(a, b, into: c, options: options)
                }
                let comparison = Comparison(actual: try backend.read(c), expected: expected, absoluteTolerance: 1e-3, relativeTolerance: 1e-3)
                guard comparison.passed else {
                    throw ComputeError.invalidArgument(operation: "tuning \(candidate)", message: "result differs from the CPU backend: \(comparison)")
                }
                seconds[candidate.description] = median
                progress(candidate, .success(median))
            } catch {
                failures[candidate.description] = "\(error)"
                progress(candidate, .failure(error))
            }
        }
        let timed = (candidates ?? MatmulChoice.candidates(for: device)).filter { seconds[$0.description] != nil }
        guard let fastest = timed.min(by: { seconds[$0.description]! < seconds[$1.description]! }) else {
            throw ComputeError.invalidArgument(
                operation: "tuning", message: "no matrix-product candidate ran correctly on \(device.name): "
                    + failures.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; "))
        }
        return TuningRecord(matmul: fastest.variant, tile: fastest.tile, seconds: seconds, failures: failures.isEmpty ? nil : failures,
                            shape: "\(size)x\(k) · (\(size)x\(k))ᵀ", date: ISO8601DateFormatter().string(from: Date()))
    }

    /// The record of `device` in `file`: read from it, or (for GPUs and accelerators, when
    /// `measureIfMissing`) measured now and stored. `nil` when `file` is `nil` (records off), for
    /// a CPU device without a record, or when measuring failed (the table's choice then stands).
    static func resolve(for device: OpenCLDeviceInfo, file: URL?, measureIfMissing: Bool) -> TuningRecord? {
        guard let file else { return nil }
        let key = key(for: device)
        let memoryKey = file.path + "\n" + key
        // One measurement per process and device even when several backends open at once.
        return measuringLock.withLock {
            if let cached = memory[memoryKey] { return cached }
            if let stored = load(from: file)[key] {
                memory[memoryKey] = stored
                return stored
            }
            guard measureIfMissing, device.type != .cpu, let measured = try? measure(deviceIndex: device.index) else { return nil }
            try? store(measured, key: key, in: file)
            memory[memoryKey] = measured
            return measured
        }
    }
}

private let recordLock = NSLock()
private let measuringLock = NSLock()
nonisolated(unsafe) private var memory: [String: TuningRecord] = [:]  // guarded by measuringLock
