/// `e^x` for eight lanes at once, from plain arithmetic and bit operations: what the CPU
/// backend's transcendental passes (softmax, attention, QuickGELU, the trainer's head) run.
///
/// Cody–Waite reduction `x = n·ln 2 + r`, |r| ≤ ln 2 / 2, with `n` rounded by adding 1.5·2²³
/// (whose bit pattern then carries `n`), a degree-7 Taylor polynomial of `e^r` (truncation
/// ≈ 2·10⁻⁹) and `2^n` assembled in the exponent bits. Error: at most 2 ulp over the normal
/// range (measured against `Foundation.exp` by `FastExpTests`). Edges as the library function:
/// NaN stays NaN, above ln(Float.greatestFiniteMagnitude) ≈ 88.7228 gives +∞, below ln(Float.leastNormalMagnitude) ≈ −87.3365 gives 0 (no subnormal results), −∞ gives 0.
/// The plain-loop twin keeps `exp`, so every check compares this against the library function.
@inline(__always)
public func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let clamped = x.clamped(lowerBound: SIMD8(repeating: -87.336_544), upperBound: SIMD8(repeating: 88.722_839))
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let shifted = clamped * 1.442_695_04 + magic
    let n = shifted - magic
    let r = (clamped - n * 0.693_145_751_953_125) - n * 1.428_606_765_330_187_045e-6
    var p = SIMD8<Float>(repeating: 1.0 / 5040)
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    // 2^n in two factors, so that n = 128 (x just below the overflow threshold) stays finite.
    let bits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
    let half = bits &>> 1
    let first = unsafeBitCast((half &+ 127) &<< 23, to: SIMD8<Float>.self)
    let second = unsafeBitCast((bits &- half &+ 127) &<< 23, to: SIMD8<Float>.self)
    var result = p * first * second
    result.replace(with: 0, where: x .< -87.336_544)
    result.replace(with: .infinity, where: x .> 88.722_839)
    result.replace(with: x, where: x .!= x)  // NaN
    return result
}

/// `e^x` for one value: lane 0 of the eight-lane version (loop tails).
@inline(__always)
public func fastExp(_ x: Float) -> Float {
    fastExp(SIMD8(repeating: x))[0]
}
