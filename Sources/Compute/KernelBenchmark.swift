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

    /// Matrix product, softmax, layer norm and copy figures at the encoder's shapes.
    /// - Parameter repeats: timed runs per figure (the median is reported).
    public static func run(on backend: any Backend, repeats: Int = 5) throws -> [Figure] {
        var generator = SeededGenerator(seed: 7)
        var figures: [Figure] = []
        func random(_ shape: [Int]) throws -> Tensor {
            try backend.upload(generator.uniform(count: shape.elementCount), shape: shape)
        }
        func time(_ body: () throws -> Void) throws -> Double {
            try medianSeconds(repeats: repeats, synchronize: backend.synchronize, body)
        }

        let products: [(String, [Int], [Int], [Int], MatmulOptions)] = [
            ("matmul 1024x1024x1024", [1024, 1024], [1024, 1024], [1024, 1024], MatmulOptions()),
            ("matmul qkv 3200x768 -> 2304 (64 images x 50 tokens)", [3200, 768], [2304, 768], [3200, 2304], MatmulOptions(transposeB: true)),
            ("matmul mlp 3200x768 -> 3072", [3200, 768], [3072, 768], [3200, 3072], MatmulOptions(transposeB: true)),
            ("matmul attention 768 x (50x64 . 64x50)", [768, 50, 64], [768, 50, 64], [768, 50, 50], MatmulOptions(transposeB: true)),
        ]
        for (name, shapeA, shapeB, shapeC, options) in products {
            let a = try random(shapeA), b = try random(shapeB), c = try backend.makeTensor(shape: shapeC)
            let k = options.transposeB ? shapeB[shapeB.count - 1] : shapeB[shapeB.count - 2]
            let flops = 2.0 * Double(shapeC.elementCount) * Double(k)
            let seconds = try time { try backend.matmul(a, b, into: c, options: options) }
            figures.append(Figure(name: name, unit: "GFLOP/s", value: flops / seconds / 1e9, seconds: seconds))
        }

        for (name, rows, width) in [("softmax [38400, 50] (64 x 12 heads x 50)", 38400, 50), ("softmax [3200, 768]", 3200, 768)] {
            let x = try random([rows, width]), y = try backend.makeTensor(shape: [rows, width])
            let seconds = try time { try backend.softmaxRows(x, into: y, scale: 0.125, causalMask: false) }
            figures.append(Figure(name: name, unit: "GB/s", value: Double(rows * width * 8) / seconds / 1e9, seconds: seconds))
        }
        for (name, rows, width) in [("layerNorm [3200, 768] (64 x 50 tokens)", 3200, 768), ("layerNorm [38400, 50]", 38400, 50)] {
            let x = try random([rows, width]), y = try backend.makeTensor(shape: [rows, width])
            let weight = try random([width]), bias = try random([width])
            let seconds = try time { try backend.layerNorm(x, weight: weight, bias: bias, epsilon: 1e-5, into: y) }
            figures.append(Figure(name: name, unit: "GB/s", value: Double(rows * width * 8) / seconds / 1e9, seconds: seconds))
        }
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
