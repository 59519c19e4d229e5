/// `e^x` with a relative error below 10⁻⁶ for x in [−87, 88] (saturating outside), from plain
/// arithmetic and bit operations: about 2.4× faster than `expf` in the CPU backend's loops
/// (QuickGELU, softmax, the trainer's head), which it dominated.
///
/// Cody–Waite reduction `x = n·ln 2 + r`, |r| ≤ ln 2 / 2, with `n` rounded by adding 1.5·2²³
/// (whose bit pattern then carries `n`), a degree-6 Taylor polynomial of `e^r` (truncation
/// ≈ 1.2·10⁻⁷) and `2^n` assembled in the exponent bits. The plain-loop twin keeps `exp`, so
/// every check compares this against the library function.
@inline(__always)
func fastExp(_ x: Float) -> Float {
    let clamped = Swift.min(Swift.max(x, -87), 88)
    let magic: Float = 12_582_912
    let shifted = clamped * 1.442_695_04 + magic
    let n = shifted - magic
    let r = (clamped - n * 0.693_145_751_953_125) - n * 1.428_606_765_330_187_045e-6
    var p: Float = 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let exponent = (shifted.bitPattern &- magic.bitPattern &+ 127) &<< 23
    return p * Float(bitPattern: exponent)
}
