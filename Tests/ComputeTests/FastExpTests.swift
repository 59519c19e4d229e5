import Compute
import Foundation
import Testing

/// The CPU backend's exponential (both builds: baseline and AVX2 + FMA) against
/// `Foundation.exp` in double rounded to float: the error bound in units in the last place over
/// the whole finite range, and the edges.
@Suite("The CPU exponential: error bound and edges against Foundation.exp", .serialized)
struct FastExpTests {
    /// The largest error in ulp of `results` against `Foundation.exp` at `inputs`, where it is
    /// at, and how many results were checked (those whose reference is a normal float).
    func worstError(of results: [Float], at inputs: [Float]) -> (worst: (ulps: Float, x: Float), checked: Int) {
        var worst: (ulps: Float, x: Float) = (0, 0), checked = 0
        for (x, result) in zip(inputs, results) {
            let reference = Float(Foundation.exp(Double(x)))
            guard reference.isNormal else { continue }
            let error = ulps(result, reference)
            if error > worst.ulps { worst = (error, x) }
            checked += 1
        }
        return (worst, checked)
    }

    @Test("at most 2 ulp over every result in the normal range, sampled across all float bit patterns")
    func errorBound() {
        var inputs: [Float] = []
        // Every 1021st bit pattern of the positive and negative floats below |x| = 90, plus a
        // dense grid where the reduction changes n.
        for sign: UInt32 in [0, 0x8000_0000] {
            var bits: UInt32 = 0
            while bits < Float(90).bitPattern {
                inputs.append(Float(bitPattern: bits | sign))
                bits += 1021
            }
        }
        for step in -175_000...177_000 { inputs.append(Float(step) / 2000) }
        withEachVectorMathBuild { build in
            let (worst, checked) = worstError(of: VectorMath.exponentials(of: inputs), at: inputs)
            #expect(checked > 2_000_000)
            #expect(worst.ulps <= 2, "\(build): worst error \(worst.ulps) ulp at x = \(worst.x)")
        }
    }

    @Test("NaN stays NaN, overflow gives +∞, underflow and −∞ give 0, 0 gives 1, edges of the range stay finite")
    func edges() {
        #expect(Float(Foundation.exp(-87.5)) < Float.leastNormalMagnitude, "only subnormal results are flushed")
        withEachVectorMathBuild { build in
            // Nine values: one eight-lane block and a scalar tail.
            let results = VectorMath.exponentials(of: [.nan, .infinity, -.infinity, 0, 88.8, 1000, -87.5, -1000, .nan])
            #expect(results[0].isNaN && results[8].isNaN, "\(build)")
            #expect(results[1] == .infinity && results[4] == .infinity && results[5] == .infinity, "\(build)")
            #expect(results[2] == 0 && results[6] == 0 && results[7] == 0, "\(build)")
            #expect(results[3] == 1, "\(build)")
            // Just inside the range: finite and within 2 ulp (n = 128 must not overflow the exponent bits).
            let inside: [Float] = [88.722, 88.7, -87.33, -87.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude]
            for (x, value) in zip(inside, VectorMath.exponentials(of: inside)) {
                let reference = Float(Foundation.exp(Double(x)))
                #expect(value.isFinite && ulps(value, reference) <= 2, "\(build) e^\(x): \(value) vs \(reference)")
            }
        }
    }

    @Test("the softmax rows' exponential: at most 2 ulp from −87.3 to 88, +∞ above 88, the same edges below")
    func shiftedErrorBoundAndEdges() {
        var inputs: [Float] = []
        // Every 1021st bit pattern of the negative floats down to −90 and the positive ones up to
        // 88, plus a dense grid over the softmax range and across the top of the range.
        for (sign, limit): (UInt32, Float) in [(0x8000_0000, 90), (0, 88)] {
            var bits: UInt32 = 0
            while bits <= limit.bitPattern {
                inputs.append(Float(bitPattern: bits | sign))
                bits += 1021
            }
        }
        for step in -175_000...0 { inputs.append(Float(step) / 2000) }
        for step in 0...2000 { inputs.append(87 + Float(step) / 2000) }
        withEachVectorMathBuild { build in
            let (worst, checked) = worstError(of: VectorMath.shiftedExponentials(of: inputs), at: inputs)
            #expect(checked > 2_000_000)
            #expect(worst.ulps <= 2, "\(build): worst error \(worst.ulps) ulp at x = \(worst.x)")
            // Nine values: one eight-lane block and a scalar tail.
            let edges = VectorMath.shiftedExponentials(of: [.nan, .infinity, -.infinity, 0, 88.01, 1000, -87.5, -1000, .nan])
            #expect(edges[0].isNaN && edges[8].isNaN, "\(build)")
            #expect(edges[1] == .infinity && edges[4] == .infinity && edges[5] == .infinity, "\(build)")
            #expect(edges[2] == 0 && edges[6] == 0 && edges[7] == 0, "\(build)")
            #expect(edges[3] == 1, "\(build)")
        }
    }

    @Test("CPU softmax rows equal the reference twin in both builds: tails, causal blocks split mid-block, in place, −∞ scores",
          arguments: [(rows: 3, width: 1, causal: false), (rows: 5, width: 7, causal: false), (rows: 9, width: 8, causal: false),
                      (rows: 2560, width: 50, causal: false), (rows: 3157, width: 77, causal: true), (rows: 21, width: 7, causal: true)])
    func softmaxRows(rows: Int, width: Int, causal: Bool) throws {
        var generator = SeededGenerator(seed: UInt64(rows * 131 + width))
        var values = generator.normal(count: rows * width, standardDeviation: 4)
        let maskedScore = width > 1 ? 1 : nil  // a −∞ score (not alone in its row): its probability is 0
        if let maskedScore { values[maskedScore] = -.infinity }
        let reference = ReferenceBackend(), backend = CPUBackend()
        let input = try reference.upload(values, shape: [rows, width]), expectedTensor = try reference.makeTensor(shape: [rows, width])
        try reference.softmaxRows(input, into: expectedTensor, scale: 0.7, causalMask: causal)
        let expected = try reference.read(expectedTensor)
        // 3157 = 41 × 77 causal rows run in chunks that start inside a [77, 77] block (41 is
        // prime, so for any chunk count but 41): each chunk must count its rows from the block's start.
        try withEachVectorMathBuild { build in
            let x = try backend.upload(values, shape: [rows, width]), y = try backend.makeTensor(shape: [rows, width])
            try backend.fill(y, with: .nan)
            try backend.softmaxRows(x, into: y, scale: 0.7, causalMask: causal)
            try backend.softmaxRows(x, into: x, scale: 0.7, causalMask: causal)
            for (name, actual) in [("out of place", try backend.read(y)), ("in place", try backend.read(x))] {
                let worst = zip(actual, expected).map { abs($0 - $1) / max(abs($1), 1e-30) }.max() ?? 0
                #expect(worst <= 4e-6, "\(build) \(name): worst relative error \(worst)")
                if let maskedScore {
                    #expect(actual[maskedScore] == 0, "\(build) \(name): a −∞ score gives \(actual[maskedScore])")
                }
                if causal {
                    let masked = (0..<rows).flatMap { row in ((row % width) + 1..<width).map { row * width + $0 } }
                    #expect(masked.allSatisfy { actual[$0] == 0 }, "\(build) \(name): masked columns must be 0")
                }
            }
        }
    }
}
