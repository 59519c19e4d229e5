import Compute
import Testing

/// `BLASKernelAdvice` on made-up processors and OpenBLAS builds (never the machine's own, and
/// never by setting `OPENBLAS_CORETYPE`).
@Suite("OpenBLAS kernel-set advice")
struct BLASKernelAdviceTests {
    // Flag sets as /proc/cpuinfo lists them (abridged).
    static let zen4: Set<String> = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_bf16"]
    static let zen3: Set<String> = ["sse4_2", "avx", "avx2", "fma"]
    static let sandyBridge: Set<String> = ["sse4_2", "avx"]
    static let partialAVX512: Set<String> = ["avx", "avx2", "fma", "avx512f"]
    static let dynamic = "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64"

    @Test("AVX2 kernels on an AVX-512 processor: suggest SkylakeX")
    func avx2KernelsOnAVX512() throws {
        for core in ["Haswell", "Zen", "zen"] {
            let advice = try #require(BLASKernelAdvice.advice(
                processorFlags: Self.zen4, coreName: core, configuration: Self.dynamic, coreTypeVariable: nil))
            #expect(advice.kernelLevel == .avx2 && advice.processorLevel == .avx512)
            #expect(advice.suggestedCoreType == "SkylakeX")
            #expect(advice.message.contains("OPENBLAS_CORETYPE=SkylakeX"), "\(advice.message)")
            #expect(advice.message.contains("'\(core)' (AVX2)"))
        }
    }

    @Test("Generic fallback kernels: suggest the processor's level")
    func genericFallback() throws {
        let onZen3 = try #require(BLASKernelAdvice.advice(
            processorFlags: Self.zen3, coreName: "Prescott", configuration: Self.dynamic, coreTypeVariable: nil))
        #expect(onZen3.suggestedCoreType == "Haswell" && onZen3.kernelLevel == .sse)
        let onSandyBridge = try #require(BLASKernelAdvice.advice(
            processorFlags: Self.sandyBridge, coreName: "Nehalem", configuration: Self.dynamic, coreTypeVariable: nil))
        #expect(onSandyBridge.suggestedCoreType == "Sandybridge")
    }

    @Test("OPENBLAS_CORETYPE asking for the kernels that run: said as a choice, not as a failure")
    func deliberateCoreType() throws {
        for variable in ["Haswell", "haswell", "Zen"] {
            let advice = try #require(BLASKernelAdvice.advice(
                processorFlags: Self.zen4, coreName: "Haswell", configuration: Self.dynamic, coreTypeVariable: variable))
            #expect(advice.isDeliberate, "\(variable)")
            #expect(advice.message.contains("OPENBLAS_CORETYPE=\(variable) is set"), "\(advice.message)")
            #expect(advice.message.contains("AVX2") && advice.message.contains("AVX-512"), "\(advice.message)")
            #expect(advice.message.contains("unset it") && advice.message.contains("OPENBLAS_CORETYPE=SkylakeX"), "\(advice.message)")
            #expect(!advice.message.contains("does not offer") && !advice.message.contains("although"), "\(advice.message)")
        }
        // Unset, or set to a kernel set this OpenBLAS ignored: not deliberate.
        for variable in [nil, "Zen4", "SkylakeX"] as [String?] {
            let advice = try #require(BLASKernelAdvice.advice(
                processorFlags: Self.zen4, coreName: "Haswell", configuration: Self.dynamic, coreTypeVariable: variable))
            #expect(!advice.isDeliberate, "\(String(describing: variable))")
        }
    }

    @Test("No advice when the kernels match, exceed or cannot be judged")
    func noAdvice() {
        let cases: [(Set<String>, String)] = [
            (Self.zen4, "SkylakeX"), (Self.zen4, "Cooperlake"), (Self.zen3, "Zen"), (Self.zen3, "Haswell"),
            (Self.sandyBridge, "Sandybridge"), (Self.partialAVX512, "Haswell"),  // AVX-512 F alone is not enough
            (Self.zen4, "ARMV8"), (Self.zen4, "NeoverseN1"), ([], "Prescott"),  // unknown name, no flags
        ]
        for (flags, core) in cases {
            #expect(BLASKernelAdvice.advice(processorFlags: flags, coreName: core, configuration: Self.dynamic, coreTypeVariable: nil) == nil,
                    "\(core) on \(flags.sorted())")
        }
    }

    @Test("A variable already set, or a build without DYNAMIC_ARCH, changes the remedy")
    func remedies() throws {
        let ignored = try #require(BLASKernelAdvice.advice(
            processorFlags: Self.zen4, coreName: "Haswell", configuration: Self.dynamic, coreTypeVariable: "Zen4"))
        #expect(ignored.coreTypeVariable == "Zen4")
        #expect(ignored.message.contains("although OPENBLAS_CORETYPE=Zen4 is set"))
        let empty = try #require(BLASKernelAdvice.advice(
            processorFlags: Self.zen4, coreName: "Haswell", configuration: Self.dynamic, coreTypeVariable: ""))
        #expect(empty.coreTypeVariable == nil)
        let fixed = try #require(BLASKernelAdvice.advice(
            processorFlags: Self.zen4, coreName: "Haswell", configuration: "OpenBLAS 0.3.26 HASWELL MAX_THREADS=64",
            coreTypeVariable: nil))
        #expect(!fixed.canSwitch)
        #expect(fixed.message.contains("without DYNAMIC_ARCH") && !fixed.message.contains("export"))
    }

    @Test("Levels read from flags and core names")
    func levels() {
        #expect(BLASKernelAdvice.Level(processorFlags: Self.zen4) == .avx512)
        #expect(BLASKernelAdvice.Level(processorFlags: Self.partialAVX512) == .avx2)
        #expect(BLASKernelAdvice.Level(processorFlags: ["avx", "avx2"]) == .avx, "AVX2 kernels also need FMA")
        #expect(BLASKernelAdvice.Level(processorFlags: ["sse2"]) == .sse)
        #expect(BLASKernelAdvice.Level(coreName: "SapphireRapids") == .avx512)
        #expect(BLASKernelAdvice.Level(coreName: "Excavator") == .avx2)
        #expect(BLASKernelAdvice.Level(coreName: "POWER9") == nil)
    }
}
