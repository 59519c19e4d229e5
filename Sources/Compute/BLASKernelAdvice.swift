import CBLAS
import Foundation

/// Whether OpenBLAS runs kernels below what the processor supports, and what to set instead.
///
/// OpenBLAS built with `DYNAMIC_ARCH` picks a kernel set when it loads, from the CPU's
/// identification. Releases that predate a processor fall back to an older set: Debian's
/// 0.3.21 runs its AVX2 `Haswell`/`Zen` kernels on Zen 4, which has AVX-512, and products run
/// at about half the speed the `SkylakeX` kernels reach there. `OPENBLAS_CORETYPE` in the
/// environment of the process (read once, at load) overrides the choice.
///
/// `advice(processorFlags:coreName:configuration:coreTypeVariable:)` is a pure function of
/// those inputs; `current` applies it to this process.
public struct BLASKernelAdvice: Sendable, Equatable {
    /// Instruction-set levels, in increasing order, as far as OpenBLAS's x86 kernel sets go.
    public enum Level: Int, Sendable, Comparable, CustomStringConvertible {
        /// SSE2 to SSE4 kernels (OpenBLAS's generic fallbacks such as `Prescott`).
        case sse = 0
        /// AVX kernels (`Sandybridge`, `Bulldozer`).
        case avx = 1
        /// AVX2 + FMA kernels (`Haswell`, `Zen`).
        case avx2 = 2
        /// AVX-512 kernels (`SkylakeX`, `Cooperlake`, `SapphireRapids`).
        case avx512 = 3

        public static func < (left: Level, right: Level) -> Bool { left.rawValue < right.rawValue }

        public var description: String {
            switch self {
            case .sse: return "SSE"
            case .avx: return "AVX"
            case .avx2: return "AVX2"
            case .avx512: return "AVX-512"
            }
        }

        /// The OpenBLAS core type to ask for at this level.
        public var coreType: String {
            switch self {
            case .sse: return "Nehalem"
            case .avx: return "Sandybridge"
            case .avx2: return "Haswell"
            case .avx512: return "SkylakeX"
            }
        }

        /// The level of an OpenBLAS core name (`openblas_get_corename()`), or nil for a name
        /// this table does not know (non-x86 builds, future names).
        public init?(coreName: String) {
            switch coreName.lowercased() {
            case "skylakex", "cooperlake", "sapphirerapids":
                self = .avx512
            case "haswell", "zen", "excavator":
                self = .avx2
            case "sandybridge", "bulldozer", "piledriver", "steamroller":
                self = .avx
            case "prescott", "katmai", "coppermine", "northwood", "core2", "penryn", "dunnington", "nehalem", "atom",
                 "opteron", "opteron_sse3", "barcelona", "bobcat", "generic", "unknown":
                self = .sse
            default:
                return nil
            }
        }

        /// The highest level whose kernels the processor can run, from `/proc/cpuinfo` flags
        /// (the kernel lists only what the operating system has enabled). SkylakeX kernels
        /// need AVX-512 F, BW, DQ and VL; Haswell kernels AVX2 and FMA.
        public init(processorFlags flags: Set<String>) {
            if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) {
                self = .avx512
            } else if flags.contains("avx2") && flags.contains("fma") {
                self = .avx2
            } else if flags.contains("avx") {
                self = .avx
            } else {
                self = .sse
            }
        }
    }

    /// OpenBLAS's kernel set.
    public let coreName: String
    /// Its level.
    public let kernelLevel: Level
    /// The processor's level.
    public let processorLevel: Level
    /// The value to give `OPENBLAS_CORETYPE`.
    public let suggestedCoreType: String
    /// `OPENBLAS_CORETYPE` as this process saw it, if set.
    public let coreTypeVariable: String?
    /// Whether the OpenBLAS build can switch kernel sets at all (`DYNAMIC_ARCH`).
    public let canSwitch: Bool

    /// Whether `OPENBLAS_CORETYPE` is set and OpenBLAS runs the kernel set it names: the lower
    /// kernels were asked for (to compare, or to match another machine), not fallen back to.
    public var isDeliberate: Bool {
        guard let coreTypeVariable else { return false }
        return coreTypeVariable.lowercased() == coreName.lowercased() || Level(coreName: coreTypeVariable) == kernelLevel
    }

    /// One sentence for logs and `devices`: what runs, what could, and what to set.
    public var message: String {
        let situation = "OpenBLAS runs its '\(coreName)' (\(kernelLevel)) kernels on a processor with \(processorLevel)"
        if isDeliberate, let coreTypeVariable {
            return "OPENBLAS_CORETYPE=\(coreTypeVariable) is set: it makes OpenBLAS use its '\(coreName)' (\(kernelLevel)) kernels "
                + "on this \(processorLevel) processor; unset it (or set OPENBLAS_CORETYPE=\(suggestedCoreType)) before upadapter "
                + "starts for the \(processorLevel) kernels, up to about twice as fast"
        }
        guard canSwitch else {
            return situation + "; this OpenBLAS build has no other kernels (built without DYNAMIC_ARCH): install one "
                + "built for this processor, or with DYNAMIC_ARCH, for faster matrix products"
        }
        if let coreTypeVariable {
            return situation + " although OPENBLAS_CORETYPE=\(coreTypeVariable) is set: this OpenBLAS does not offer "
                + "that kernel set (try OPENBLAS_CORETYPE=\(suggestedCoreType), or a newer OpenBLAS)"
        }
        return situation + ": matrix products can run up to about twice as fast with "
            + "OPENBLAS_CORETYPE=\(suggestedCoreType) set in the environment before upadapter starts "
            + "(e.g. `export OPENBLAS_CORETYPE=\(suggestedCoreType)`; see docs/benchmarks.md)"
    }

    /// Advice when `coreName`'s kernels are below what `processorFlags` allow; nil when the
    /// choice matches the processor, or either side is unknown.
    /// - Parameters:
    ///   - processorFlags: the `flags` of `/proc/cpuinfo`.
    ///   - coreName: `openblas_get_corename()`.
    ///   - configuration: `openblas_get_config()` (tells whether `DYNAMIC_ARCH` is on).
    ///   - coreTypeVariable: the `OPENBLAS_CORETYPE` environment variable, if set.
    public static func advice(
        processorFlags: Set<String>, coreName: String, configuration: String, coreTypeVariable: String?
    ) -> BLASKernelAdvice? {
        guard !processorFlags.isEmpty, let kernelLevel = Level(coreName: coreName) else { return nil }
        let processorLevel = Level(processorFlags: processorFlags)
        guard kernelLevel < processorLevel else { return nil }
        let variable = coreTypeVariable.flatMap { $0.isEmpty ? nil : $0 }
        return BLASKernelAdvice(
            coreName: coreName, kernelLevel: kernelLevel, processorLevel: processorLevel,
            suggestedCoreType: processorLevel.coreType, coreTypeVariable: variable,
            canSwitch: configuration.contains("DYNAMIC_ARCH"))
    }

    /// The advice for this process (nil off Linux, or when OpenBLAS's choice is right).
    public static let current: BLASKernelAdvice? = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let flagsLine = text.split(separator: "\n").first { $0.hasPrefix("flags") }
        let flags = Set((flagsLine?.split(separator: ":", maxSplits: 1).last ?? "").split(separator: " ").map(String.init))
        return advice(
            processorFlags: flags,
            coreName: openblas_get_corename().map { String(cString: $0) } ?? "unknown",
            configuration: openblas_get_config().map { String(cString: $0) } ?? "",
            coreTypeVariable: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"])
    }()
}
