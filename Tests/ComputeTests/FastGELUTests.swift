import Compute
import Foundation
import Testing

/// The CPU backend's exact GELU, `0.5 · x · (1 + erf(x / √2))` (both builds: baseline and
/// AVX2 + FMA), against the same function in double precision rounded to float: the error bound
/// in units in the last place over the whole float range, the edges, and the backend's activation
/// against the reference backend.
@Suite("The CPU GELU: error bound and edges against Foundation.erfc", .serialized)
struct FastGELUTests {
    /// The measured worst error of both builds over every input whose result is a normal float.
    static let bound: Float = 1

    /// GELU in double, rounded to float. Written `0.5 · x · erfc(−x / √2)`, which equals
    /// `0.5 · x · (1 + erf(x / √2))` but keeps its relative accuracy in the negative tail, where
    /// `1 + erf` cancels (at x = −8 the double sum has lost every correct digit).
    func reference(_ x: Float) -> Float {
        let value = Double(x)
        return Float(0.5 * value * erfc(-value / 2.0.squareRoot()))
    }

    @Test("at most 1 ulp over every normal result, sampled across all float bit patterns and densely on [−12, 12]")
    func errorBound() {
        var inputs: [Float] = []
        // Every 1021st bit pattern of the positive and negative finite floats, plus a grid of step
        // 1/4096 where the function bends.
        for sign: UInt32 in [0, 0x8000_0000] {
            var bits: UInt32 = 0
            while bits < Float.infinity.bitPattern {
                inputs.append(Float(bitPattern: bits | sign))
                bits += 1021
            }
        }
        for step in -49_152...49_152 { inputs.append(Float(step) / 4096) }
        let references = inputs.map(reference)
        withEachVectorMathBuild { build in
            let results = VectorMath.gelu(of: inputs)
            var worst: (ulps: Float, x: Float) = (0, 0), checked = 0
            for index in inputs.indices where references[index].isNormal {
                let error = ulps(results[index], references[index])
                if !(error <= worst.ulps) { worst = (error, inputs[index]) }
                checked += 1
            }
            #expect(checked > 3_000_000)
            #expect(worst.ulps <= Self.bound, "\(build): worst error \(worst.ulps) ulp at x = \(worst.x)")
        }
    }

    @Test("NaN stays NaN, +∞ and large x give x, −∞ and large negative x give −0, ±0 give ±0, subnormal results are kept")
    func edges() {
        #expect(reference(-14.5) == 0, "the reference underflows below about −14.4")
        #expect(reference(-13.5) != 0 && !reference(-13.5).isNormal, "the reference is subnormal here")
        withEachVectorMathBuild { build in
            // Thirteen values: one eight-lane block and a scalar tail.
            let inputs: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 6, 10.5, .greatestFiniteMagnitude,
                                   -14.5, -1000, -.greatestFiniteMagnitude, -13.5, .nan]
            let results = VectorMath.gelu(of: inputs)
            #expect(results[0].isNaN && results[12].isNaN, "\(build)")
            #expect(results[1] == .infinity, "\(build)")
            #expect(results[2] == 0 && results[2].sign == .minus, "\(build): GELU(−∞) = \(results[2])")
            #expect(results[3] == 0 && results[3].sign == .plus, "\(build): GELU(0) = \(results[3])")
            #expect(results[4] == 0 && results[4].sign == .minus, "\(build): GELU(−0) = \(results[4])")
            for index in 5...7 { #expect(results[index] == inputs[index], "\(build): GELU(\(inputs[index])) = \(results[index])") }
            for index in 8...10 {
                #expect(results[index] == 0 && results[index].sign == .minus, "\(build): GELU(\(inputs[index])) = \(results[index])")
            }
            #expect(results[11] != 0 && abs(results[11] - reference(-13.5)) <= .leastNonzeroMagnitude,
                    "\(build): GELU(−13.5) = \(results[11]) vs \(reference(-13.5))")
        }
    }

    @Test("CPUBackend's GELU activation equals the reference backend's, out of place and in place, at 1003 elements")
    func backendAgainstReference() throws {
        var generator = SeededGenerator(seed: 47)
        // 1003 = 125 eight-lane blocks and a tail of three; a wide spread reaches both tails.
        let values = generator.normal(count: 1003, standardDeviation: 3)
        let reference = ReferenceBackend()
        let input = try reference.upload(values, shape: [17, 59]), expectedTensor = try reference.makeTensor(shape: [17, 59])
        try reference.activation(.gelu, input, into: expectedTensor)
        let expected = try reference.read(expectedTensor)
        // The reference computes 1 + erf(x / √2) in double, which cancels for negative x: its own
        // absolute error is about |x| · 2^-53, which the tolerance adds to the bound.
        func mismatches(_ actual: [Float]) -> [String] {
            values.indices.compactMap { index in
                let allowed = Self.bound * expected[index].ulp + Float(abs(Double(values[index])) * 0x1p-51)
                let difference = abs(actual[index] - expected[index])
                return difference <= allowed ? nil : "x = \(values[index]): \(actual[index]) vs \(expected[index])"
            }
        }
        let backend = CPUBackend()
        try withEachVectorMathBuild { build in
            let x = try backend.upload(values, shape: [17, 59]), y = try backend.makeTensor(shape: [17, 59])
            try backend.fill(y, with: .nan)
            try backend.activation(.gelu, x, into: y)
            let outOfPlace = mismatches(try backend.read(y))
            #expect(outOfPlace.isEmpty, "\(build): \(outOfPlace.count) mismatches, first \(outOfPlace.prefix(3))")
            try backend.activation(.gelu, x, into: x)
            let inPlace = mismatches(try backend.read(x))
            #expect(inPlace.isEmpty, "\(build) in place: \(inPlace.count) mismatches, first \(inPlace.prefix(3))")
        }
    }
}
