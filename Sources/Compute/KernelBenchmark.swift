import CBLAS
import Foundation

/// Throughput figures of the core operations on one backend: the numbers `upadapter kernels
/// bench` prints. Each figure is the median of repeated runs after a warm-up run, with the
/// backend synchronised around every timed run.
public enum KernelBenchmark {
    /// One measured operation.
    public struct Figure: Sendable, Codable {
        /// What was measured, e.g. `matmul 1024x1024x1024`.
        public let name: String
        /// `GFLOP/s`, `GB/s`, or `us` (a parallel region's wall time).
        public let unit: String
        /// Median throughput.
        public let value: Double
        /// Median seconds per run.
        public let seconds: Double
    }

    /// Median seconds of `body` over `repeats` runs after one warm-up run.
    public static func medianSeconds(repeats: Int, synchronize: () throws -> Void, _ body: () throws -> Void) throws -> Double {
        try body()
        try synchronize()
        var times: [Double] = []
        for _ in 0..<max(repeats, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            try synchronize()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times.sorted()[times.count / 2]
    }

    /// What a family's figures need: the backend, seeded random tensors and the median timer.
    final class Context {
        let backend: any Backend
        let repeats: Int
        private var generator = SeededGenerator(seed: 7)

        init(backend: any Backend, repeats: Int) {
            self.backend = backend
            self.repeats = repeats
        }

        /// A tensor of `shape` with uniform values in [-1, 1].
        func random(_ shape: [Int]) throws -> Tensor {
            try backend.upload(generator.uniform(count: shape.elementCount), shape: shape)
        }

        /// Median seconds of `body`, the backend synchronised around each run.
        func time(_ body: () throws -> Void) throws -> Double {
            try medianSeconds(repeats: repeats, synchronize: backend.synchronize, body)
        }
    }

    /// Matrix product, attention, softmax, layer norm, activation, convolution, pooling and
    /// copy figures at the encoder's shapes: the timed cases of the families' case lists
    /// (`KernelCheck.benchCases`), each the median of `repeats` runs.
    public static func run(on backend: any Backend, repeats: Int = 5) throws -> [Figure] {
        let context = Context(backend: backend, repeats: repeats)
        return try KernelCheck.benchCases.map { try figure(of: $0, context) }
    }

    /// The figure of timed case `timedCase`: its work over its median seconds.
    /// - Throws: `ComputeError.invalidArgument` for a case that is checked, not timed.
    static func figure(of timedCase: KernelCheck.Case, _ context: Context) throws -> Figure {
        guard let timing = timedCase.timing else {
            throw ComputeError.invalidArgument(operation: "kernels bench", message: "\(timedCase.operation) \(timedCase.shape) is not a timed case")
        }
        let body = try timing.setUp(context)
        let seconds = try context.time(body)
        let name = timedCase.operation + " " + timedCase.shape
        switch timing.work {
        case .flops(let flops): return Figure(name: name, unit: "GFLOP/s", value: flops / seconds / 1e9, seconds: seconds)
        case .bytes(let bytes): return Figure(name: name, unit: "GB/s", value: bytes / seconds / 1e9, seconds: seconds)
        }
    }

    /// A product shape that `kernels bench` times on the backend and as raw `cblas_sgemm`:
    /// `C [m, n] = op(A) · op(B)` with `k` the shared dimension.
    public struct ProductShape: Sendable {
        public let name: String
        public let m: Int, n: Int, k: Int
        public let transposeA: Bool, transposeB: Bool
    }

    /// The square yardstick, the encoder's two largest products and the prototype trainer's
    /// forward and key-gradient products (mean prototypes of 100 classes, and a 1600-key cache).
    public static let referenceProductShapes: [ProductShape] = [
        ProductShape(name: "1024x1024x1024", m: 1024, n: 1024, k: 1024, transposeA: false, transposeB: false),
        ProductShape(name: "qkv 3200x768 -> 2304 (64 images x 50 tokens)", m: 3200, n: 2304, k: 768, transposeA: false, transposeB: true),
        ProductShape(name: "mlp 3200x768 -> 3072", m: 3200, n: 3072, k: 768, transposeA: false, transposeB: true),
        ProductShape(name: "trainer affinity 256x512 . (100x512)T", m: 256, n: 100, k: 512, transposeA: false, transposeB: true),
        ProductShape(name: "trainer gradient (256x100)T . 256x512", m: 100, n: 512, k: 256, transposeA: true, transposeB: false),
        ProductShape(name: "trainer large affinity 256x512 . (1000x512)T", m: 256, n: 1000, k: 512, transposeA: false, transposeB: true),
        ProductShape(name: "trainer large gradient (256x1000)T . 256x512", m: 1000, n: 512, k: 256, transposeA: true, transposeB: false),
        ProductShape(name: "trainer cache affinity 256x512 . (1600x512)T", m: 256, n: 1600, k: 512, transposeA: false, transposeB: true),
        ProductShape(name: "trainer cache gradient (256x1600)T . 256x512", m: 1600, n: 512, k: 256, transposeA: true, transposeB: false),
    ]

    /// Raw `cblas_sgemm` on the host at every `referenceProductShapes` shape, with OpenBLAS's own
    /// threading over all cores, as a program calling it directly gets it: the yardstick of the
    /// backends' `matmul` figures of the same names.
    public static func rawSGEMMFigures(repeats: Int = 5) throws -> [Figure] {
        try referenceProductShapes.map { try rawSGEMM($0, repeats: repeats) }
    }

    /// Raw `cblas_sgemm` at one shape (see `rawSGEMMFigures`).
    public static func rawSGEMM(_ shape: ProductShape, repeats: Int = 5) throws -> Figure {
        var generator = SeededGenerator(seed: 11)
        let (m, n, k) = (shape.m, shape.n, shape.k)
        let a = generator.uniform(count: m * k), b = generator.uniform(count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        openblas_set_num_threads(Int32(ProcessInfo.processInfo.activeProcessorCount))
        defer { openblas_set_num_threads(1) }
        let seconds = try medianSeconds(repeats: repeats, synchronize: {}) {
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        cblas_sgemm(CblasRowMajor, shape.transposeA ? CblasTrans : CblasNoTrans, shape.transposeB ? CblasTrans : CblasNoTrans,
                                    Int32(m), Int32(n), Int32(k), 1, pa.baseAddress, Int32(shape.transposeA ? m : k),
                                    pb.baseAddress, Int32(shape.transposeB ? k : n), 0, pc.baseAddress, Int32(n))
                    }
                }
            }
        }
        return Figure(name: "raw cblas_sgemm \(shape.name) (\(BLASInfo.current.coreName))", unit: "GFLOP/s",
                      value: 2 * Double(m) * Double(n) * Double(k) / seconds / 1e9, seconds: seconds)
    }
}

// MARK: Square products and program builds

extension KernelBenchmark {
    /// GFLOP/s of square products `[n, n] · [n, n]` for each of `sizes` (the GPU check compares
    /// 1024³ and 4096³ with `torch.matmul` on the same GPU).
    public static func squareProductFigures(on backend: any Backend, sizes: [Int], repeats: Int = 5) throws -> [Figure] {
        let context = Context(backend: backend, repeats: repeats)
        return try sizes.map { size in
            let a = try context.random([size, size]), b = try context.random([size, size])
            let c = try backend.makeTensor(shape: [size, size])
            let seconds = try context.time { try backend.matmul(a, b, into: c, options: MatmulOptions()) }
            return Figure(name: "matmul square \(size)³", unit: "GFLOP/s", value: 2 * pow(Double(size), 3) / seconds / 1e9, seconds: seconds)
        }
    }

    /// Milliseconds to build every kernel file (`OpenCLBackend.buildEveryFile`) on OpenCL device
    /// `deviceIndex` twice, each time in a new backend sharing one new, empty program binary
    /// cache: first compiled from source (and stored), then created from the cached binaries.
    /// A driver with a cache of its own (PoCL's `~/.cache/pocl`) makes the first build cheaper
    /// than a true first compile.
    /// - Throws: the build error of a file, or `ComputeError.invalidArgument` when the second
    ///   build did not come from the cache.
    public static func programBuildFigures(deviceIndex: Int) throws -> [Figure] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-programs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cache = ProgramBinaryCache(directory: directory)
        var figures: [Figure] = []
        for (label, fromCache) in [("first, from source", false), ("cached, from binaries", true)] {
            let backend = try OpenCLBackend(deviceIndex: deviceIndex, consultTuningRecord: false, programCache: cache)
            let files = try backend.buildEveryFile()
            let statistics = backend.programBuildStatistics
            let (count, seconds) = fromCache ? (statistics.binaryLoads, statistics.binarySeconds) : (statistics.sourceBuilds, statistics.sourceSeconds)
            guard count == files else {
                throw ComputeError.invalidArgument(
                    operation: "program build benchmark",
                    message: "\(label): \(count) of \(files) programs (\(statistics.sourceBuilds) from source, \(statistics.binaryLoads) from binaries, \(statistics.refusedBinaries) binaries refused)")
            }
            figures.append(Figure(name: "program build \(label) (\(files) kernel files)", unit: "ms", value: seconds * 1000, seconds: seconds))
        }
        return figures
    }
}
