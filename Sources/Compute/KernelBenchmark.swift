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
        /// `GFLOP/s` or `GB/s`.
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

    /// Matrix product, softmax, layer norm and copy figures at the encoder's shapes, each from
    /// its family's file in `Operations/`.
    /// - Parameter repeats: timed runs per figure (the median is reported).
    public static func run(on backend: any Backend, repeats: Int = 5) throws -> [Figure] {
        let context = Context(backend: backend, repeats: repeats)
        return try matrixProductFigures(context) + attentionFigures(context) + softmaxFigures(context) + layerNormFigures(context)
            + convolutionFigures(context) + poolingFigures(context) + copyFigures(context)
    }

    /// The device copy: the bandwidth yardstick the row operations are compared with.
    static func copyFigures(_ context: Context) throws -> [Figure] {
        let backend = context.backend
        var figures: [Figure] = []
        func random(_ shape: [Int]) throws -> Tensor { try context.random(shape) }
        func time(_ body: () throws -> Void) throws -> Double { try context.time(body) }
        let count = 3200 * 768
        let source = try random([count]), destination = try backend.makeTensor(shape: [count])
        let copySeconds = try time { try backend.copy(source, to: destination) }
        figures.append(Figure(name: "copy [2457600] (device copy, bandwidth yardstick)", unit: "GB/s",
                              value: Double(count * 8) / copySeconds / 1e9, seconds: copySeconds))
        return figures
    }

    /// Raw `cblas_sgemm` at `size`³ on the host, for comparison with the backends.
    public static func rawSGEMM(size: Int = 1024, repeats: Int = 5) throws -> Figure {
        var generator = SeededGenerator(seed: 11)
        let a = generator.uniform(count: size * size), b = generator.uniform(count: size * size)
        var c = [Float](repeating: 0, count: size * size)
        let n = Int32(size)
        // OpenBLAS's own threading, as any program calling it directly gets it.
        openblas_set_num_threads(Int32(ProcessInfo.processInfo.activeProcessorCount))
        defer { openblas_set_num_threads(1) }
        let seconds = try medianSeconds(repeats: repeats, synchronize: {}) {
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1,
                                    pa.baseAddress, n, pb.baseAddress, n, 0, pc.baseAddress, n)
                    }
                }
            }
        }
        return Figure(name: "raw cblas_sgemm \(size)x\(size)x\(size) (\(BLASInfo.current.coreName))", unit: "GFLOP/s",
                      value: 2 * pow(Double(size), 3) / seconds / 1e9, seconds: seconds)
    }
}
