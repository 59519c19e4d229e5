import Compute

/// Reproducible, approximately Gaussian pixel noise for the image transforms.
///
/// Each image has its own SplitMix64 stream whose state is `seed · 2³² + index` (wrapping
/// 64-bit arithmetic), `index` being the item's position in its split. Draw `k` of the stream
/// is the usual SplitMix64 output `mix(state + (k + 1) · 0x9E3779B97F4A7C15)`; it becomes the
/// uniform number `u = (draw >> 11) · 2⁻⁵³` in [0, 1). Noise sample `q` uses draws
/// `12q … 12q + 11`: `n = (((u₀ + u₁) + u₂) + … + u₁₁) − 6` (an Irwin–Hall variable: mean 0,
/// variance 1, range [−6, 6]), summed left to right in `Double`.
enum ShiftNoise {
    /// Uniform draws per noise sample.
    static let uniformsPerSample = 12

    /// The stream state of image `index` for `seed`.
    static func streamState(seed: UInt64, index: Int) -> UInt64 {
        (seed &* (1 << 32)) &+ UInt64(truncatingIfNeeded: index)
    }

    /// A uniform number in [0, 1) from one 64-bit draw: its top 53 bits times 2⁻⁵³.
    @inline(__always)
    static func unit(_ draw: UInt64) -> Double {
        Double(draw >> 11) * 0x1p-53
    }

    /// The first `count` noise samples of image `index`'s stream.
    /// - Returns: `[count]` values in [−6, 6].
    static func samples(seed: UInt64, index: Int, count: Int) -> [Double] {
        var generator = SeededGenerator(seed: streamState(seed: seed, index: index))
        var values = [Double](repeating: 0, count: max(count, 0))
        for sample in 0..<values.count {
            var total = unit(generator.next())
            for _ in 1..<uniformsPerSample { total = total + unit(generator.next()) }
            values[sample] = total - 6.0
        }
        return values
    }

    /// The first `count` uniform numbers in [0, 1) of image `index`'s stream (draws `0 ..< count`).
    static func uniforms(seed: UInt64, index: Int, count: Int) -> [Double] {
        var generator = SeededGenerator(seed: streamState(seed: seed, index: index))
        return (0..<max(count, 0)).map { _ in unit(generator.next()) }
    }
}
