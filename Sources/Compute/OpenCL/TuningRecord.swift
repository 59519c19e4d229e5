import Foundation

/// The per-device record of which matrix-product kernel is fastest, measured rather than guessed:
/// every variant is timed once on a representative product and the fastest is kept in a small
/// JSON file, keyed by device, platform and driver version (a driver update times again).
///
/// GPUs and accelerators are timed automatically the first time a backend opens them (a second
/// or two); CPU drivers keep their table's choice (`packed`, measured best on PoCL) unless
/// `upadapter kernels tune` records otherwise. `--kernel-variant matmul=…` always wins, and
/// `upadapter devices` shows the record. The file is `$UPADAPTER_TUNING_FILE`, else
/// `$XDG_CACHE_HOME/upadapter/kernel-tuning.json`, else `~/.cache/upadapter/kernel-tuning.json`;
/// `UPADAPTER_TUNING_FILE=off` disables reading, timing and writing.
public struct TuningRecord: Sendable, Codable, Equatable {
    /// The variant chosen: the fastest measured.
    public var matmul: MatmulVariant
    /// Median seconds of the timed product, per variant.
    public var seconds: [String: Double]
    /// The product timed, e.g. `1024x768 · (1024x768)ᵀ`.
    public var shape: String
    /// When it was measured (ISO 8601).
    public var date: String

    public init(matmul: MatmulVariant, seconds: [String: Double], shape: String, date: String) {
        self.matmul = matmul
        self.seconds = seconds
        self.shape = shape
        self.date = date
    }

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
            let temporary = file.appendingPathExtension("\(ProcessInfo.processInfo.processIdentifier).tmp")
            try encoder.encode(records).write(to: temporary)
            // rename(2) replaces the old file atomically.
            guard rename(temporary.path, file.path) == 0 else {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temporary)
                throw ComputeError.invalidArgument(operation: "tuning record", message: "cannot write \(file.path): \(reason)")
            }
        }
    }

    /// Times every matrix-product variant on `device` and returns the record (not stored).
    /// - Parameters:
    ///   - size: the product `[size, k] · [size, k]ᵀ` with `k = 3 · size / 4` (a linear layer's layout).
    ///   - repeats: timed runs per variant after a warm-up; the median counts.
    /// - Throws: the OpenCL error of a variant that fails to build or run (it is then left out
    ///   if another variant works; thrown when none does).
    public static func measure(deviceIndex: Int, size: Int = 1024, repeats: Int = 3) throws -> TuningRecord {
        let k = 3 * size / 4
        var generator = SeededGenerator(seed: 3)
        let valuesA = generator.uniform(count: size * k), valuesB = generator.uniform(count: size * k)
        var seconds: [String: Double] = [:]
        var lastError: Error?
        for variant in MatmulVariant.allCases {
            do {
                let backend = try OpenCLBackend(deviceIndex: deviceIndex, variants: KernelVariantOverride(matmul: variant), consultTuningRecord: false)
                let a = try backend.upload(valuesA, shape: [size, k]), b = try backend.upload(valuesB, shape: [size, k])
                let c = try backend.makeTensor(shape: [size, size])
                seconds[variant.rawValue] = try KernelBenchmark.medianSeconds(repeats: repeats, synchronize: backend.synchronize) {
                    try backend.matmul(a, b, into: c, options: MatmulOptions(transposeB: true))
                }
            } catch {
                lastError = error
            }
        }
        guard let fastest = MatmulVariant.allCases.filter({ seconds[$0.rawValue] != nil })
            .min(by: { seconds[$0.rawValue]! < seconds[$1.rawValue]! }) else {
            throw lastError ?? ComputeError.invalidArgument(operation: "tuning", message: "no matrix-product variant ran")
        }
        return TuningRecord(matmul: fastest, seconds: seconds, shape: "\(size)x\(k) · (\(size)x\(k))ᵀ",
                            date: ISO8601DateFormatter().string(from: Date()))
    }

    /// The record of `device`: read from the file, or (for GPUs and accelerators, when
    /// `measureIfMissing`) measured now and stored. `nil` when records are off, for a CPU device
    /// without a record, or when measuring failed (the table's choice then stands).
    static func resolve(for device: OpenCLDeviceInfo, measureIfMissing: Bool) -> TuningRecord? {
        guard let file = fileURL() else { return nil }
        let key = key(for: device)
        // One measurement per process and device even when several backends open at once.
        return measuringLock.withLock {
            if let cached = memory[key] { return cached }
            if let stored = load(from: file)[key] {
                memory[key] = stored
                return stored
            }
            guard measureIfMissing, device.type != .cpu, let measured = try? measure(deviceIndex: device.index) else { return nil }
            try? store(measured, key: key, in: file)
            memory[key] = measured
            return measured
        }
    }
}

private let recordLock = NSLock()
private let measuringLock = NSLock()
nonisolated(unsafe) private var memory: [String: TuningRecord] = [:]  // guarded by measuringLock
