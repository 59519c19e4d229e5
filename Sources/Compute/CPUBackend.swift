import CBLAS
import Dispatch
import Foundation

/// Runs every operation on the host: OpenBLAS `cblas_sgemm` for matrix products and
/// vectorisable loops, split across cores, for the rest. The operations live with their
/// families in `Operations/`; this file holds the memory and the parallel loops. The plain-loop
/// twin every implementation is compared with is `ReferenceBackend`.
public final class CPUBackend: HostBackend {
    public let launchHook = LaunchHook()

    public init() {}

    public var name: String { "cpu" }

    public var deviceDescription: String {
        "CPU (\(ProcessInfo.processInfo.activeProcessorCount) cores, \(BLASInfo.current.summary))"
    }

    // MARK: Memory (the rest is `HostBackend`'s)

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try measured("copy") {
            try requireSameCount(source, destination, operation: "copy")
            let from = try storage(source, "copy", "source"), to = try storage(destination, "copy", "destination")
            // Over the cores from 1 MiB: one core's copy does not reach the memory bandwidth.
            parallelChunks(source.count, minimumCount: 1 << 18) { range in
                (to + range.lowerBound).update(from: from + range.lowerBound, count: range.count)
            }
        }
    }

    // MARK: Operations

    /// The fast path's activation over `count` elements (`y` may be `x`).
    static func activate(_ kind: Activation, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        switch kind {
        case .quickGELU:
            VectorLoops.quickGELU(x, y, count: count)
        case .gelu:
            VectorLoops.gelu(x, y, count: count)
        case .relu:
            for index in 0..<count { y[index] = max(x[index], 0) }
        }
    }

    // MARK: Parallel loops

    /// Runs `body` for each row, in chunks spread over the cores when the work (`rows · width`
    /// elements) reaches `minimumWork`, enough to pay for waking the other threads (on a 2-core
    /// KVM guest 1 << 15 was too low: the trainer's [256 × 200] head passes ran slower split).
    func parallelRows(_ rows: Int, width: Int, minimumWork: Int = 1 << 17, _ body: (Int) -> Void) {
        parallelRowRanges(rows, width: width, minimumWork: minimumWork) { range in
            for row in range { body(row) }
        }
    }

    /// `parallelRows` for bodies that take a whole range of rows at once (one call per chunk).
    func parallelRowRanges(_ rows: Int, width: Int, minimumWork: Int = 1 << 17, _ body: (Range<Int>) -> Void) {
        let work = rows * max(width, 1)
        let chunks = work < minimumWork ? 1 : min(rows, WorkerPool.threads * 4)
        if chunks <= 1 {
            body(0..<rows)
            return
        }
        // The chunks touch disjoint rows.
        WorkerPool.run(rows, chunks: chunks, body)
    }

    /// Runs `body` over `0 ..< count` in chunks spread over the cores when `count` reaches
    /// `minimumCount` (below it, one call on this thread).
    func parallelChunks(_ count: Int, minimumCount: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
        let chunks = count < minimumCount ? 1 : WorkerPool.threads * 4
        if chunks == 1 {
            body(0..<count)
            return
        }
        // The chunks touch disjoint ranges.
        WorkerPool.run(count, chunks: chunks, body)
    }
}

/// Set once per process: the CPU backend parallelises products itself (see `matmul`).
let singleThreadedBLAS: Void = openblas_set_num_threads(1)

/// What BLAS library the CPU backend links and which kernel set it chose at load time.
public struct BLASInfo: Sendable {
    /// OpenBLAS's core name, e.g. `Haswell`, `SkylakeX` or `Prescott` (the generic fallback).
    public let coreName: String
    /// OpenBLAS's build configuration string.
    public let configuration: String
    /// Threads OpenBLAS uses.
    public let threads: Int

    public static let current: BLASInfo = {
        BLASInfo(
            coreName: openblas_get_corename().map { String(cString: $0) } ?? "unknown",
            configuration: openblas_get_config().map { String(cString: $0) } ?? "unknown",
            threads: ProcessInfo.processInfo.activeProcessorCount)
    }()

    public var summary: String { "OpenBLAS core \(coreName), \(threads) threads (split by the backend)" }
}

/// CPU instruction-set flags read from `/proc/cpuinfo` (Linux).
public struct CPUFeatures: Sendable {
    public let modelName: String
    public let hasAVX2: Bool
    public let hasAVX512: Bool

    public static let current: CPUFeatures = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n")
        let flags = lines.first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        let model = lines.first { $0.hasPrefix("model name") }?.split(separator: ":", maxSplits: 1).last
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        return CPUFeatures(modelName: model, hasAVX2: flags.contains("avx2"), hasAVX512: flags.contains("avx512f"))
    }()
}
