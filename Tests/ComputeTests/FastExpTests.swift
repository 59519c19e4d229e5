import Compute
import Foundation
import Testing

/// The CPU backend's vectorised exponential against `Foundation.exp` (in double, rounded to
/// float): the error bound in units in the last place over the whole finite range, and the edges.
@Suite("fastExp: error bound and edges against Foundation.exp")
struct FastExpTests {
    /// Units in the last place between `value` and the correctly rounded `reference`.
    func ulps(_ value: Float, _ reference: Float) -> Float {
        abs(value - reference) / reference.ulp
    }

    @Test("at most 2 ulp over every result in the normal range, sampled across all float bit patterns")
    func errorBound() {
        var worst: (ulps: Float, x: Float) = (0, 0)
        var checked = 0
        var lanes = SIMD8<Float>(), filled = 0
        func flush() {
            let results = fastExp(lanes)
            for lane in 0..<filled {
                let x = lanes[lane]
                let reference = Float(Foundation.exp(Double(x)))
                guard reference.isNormal, reference.isFinite else { continue }
                let error = ulps(results[lane], reference)
                if error > worst.ulps { worst = (error, x) }
                checked += 1
            }
            filled = 0
        }
        // Every 1021st bit pattern of the positive and negative floats below |x| = 90, plus a dense
        // grid where the reduction changes n.
        for sign: UInt32 in [0, 0x8000_0000] {
            var bits: UInt32 = 0
            while bits < Float(90).bitPattern {
                lanes[filled] = Float(bitPattern: bits | sign)
                filled += 1
                if filled == 8 { flush() }
                bits += 1021
            }
        }
        for step in -175_000...177_000 {
            lanes[filled] = Float(step) / 2000
            filled += 1
            if filled == 8 { flush() }
        }
        flush()
        #expect(checked > 2_000_000)
        #expect(worst.ulps <= 2, "worst error \(worst.ulps) ulp at x = \(worst.x)")
    }

    @Test("NaN stays NaN, overflow gives +∞, underflow and −∞ give 0, 0 gives 1")
    func edges() {
        let inputs = SIMD8<Float>(.nan, .infinity, -.infinity, 0, 88.8, 1000, -87.5, -1000)
        let results = fastExp(inputs)
        #expect(results[0].isNaN)
        #expect(results[1] == .infinity && results[4] == .infinity && results[5] == .infinity)
        #expect(results[2] == 0 && results[6] == 0 && results[7] == 0)
        #expect(Float(Foundation.exp(-87.5)) < Float.leastNormalMagnitude, "only subnormal results are flushed")
        #expect(results[3] == 1)
        // Just inside the range: finite and within 2 ulp (n = 128 must not overflow the exponent bits).
        for x: Float in [88.7, 88.71, -87.3, -87.0, Float.leastNonzeroMagnitude, -Float.leastNonzeroMagnitude] {
            let value = fastExp(x), reference = Float(Foundation.exp(Double(x)))
            #expect(value.isFinite && ulps(value, reference) <= 2, "e^\(x): \(value) vs \(reference)")
        }
    }
}
