import Foundation

/// The agreement of two float arrays under `|actual − expected| ≤ atol + rtol · |expected|`:
/// how kernels are checked against the CPU twin and encoders against reference fixtures.
public struct Comparison: Sendable, CustomStringConvertible {
    /// Largest `|actual − expected|`.
    public let maxAbsoluteError: Float
    /// Largest `|actual − expected| / max(|expected|, atol)`.
    public let maxRelativeError: Float
    /// Number of elements outside the tolerance (a NaN anywhere counts as outside).
    public let mismatchCount: Int
    /// The first few mismatches: index, actual, expected.
    public let firstMismatches: [(index: Int, actual: Float, expected: Float)]
    public let absoluteTolerance: Float
    public let relativeTolerance: Float

    /// Compares element by element; arrays of different lengths count every missing element as a mismatch.
    public init(actual: [Float], expected: [Float], absoluteTolerance: Float, relativeTolerance: Float) {
        var maxAbsolute: Float = 0, maxRelative: Float = 0, mismatches = 0
        var first: [(index: Int, actual: Float, expected: Float)] = []
        for index in 0..<min(actual.count, expected.count) {
            let difference = abs(actual[index] - expected[index])
            let allowed = absoluteTolerance + relativeTolerance * abs(expected[index])
            if difference.isNaN || !(difference <= allowed) {
                mismatches += 1
                if first.count < 5 { first.append((index, actual[index], expected[index])) }
            }
            if difference.isNaN {
                maxAbsolute = .nan
                maxRelative = .nan
            } else if !maxAbsolute.isNaN {
                maxAbsolute = max(maxAbsolute, difference)
                maxRelative = max(maxRelative, difference / max(abs(expected[index]), absoluteTolerance, .leastNormalMagnitude))
            }
        }
        mismatches += abs(actual.count - expected.count)
        maxAbsoluteError = maxAbsolute
        maxRelativeError = maxRelative
        mismatchCount = mismatches
        firstMismatches = first
        self.absoluteTolerance = absoluteTolerance
        self.relativeTolerance = relativeTolerance
    }

    /// Whether every element is within the tolerance.
    public var passed: Bool { mismatchCount == 0 }

    public var description: String {
        var text = "max abs error \(maxAbsoluteError), max rel error \(maxRelativeError), "
            + "\(mismatchCount) outside atol \(absoluteTolerance) + rtol \(relativeTolerance)·|ref|"
        if !firstMismatches.isEmpty {
            text += "; first: " + firstMismatches.map { "[\($0.index)] \($0.actual) vs \($0.expected)" }.joined(separator: ", ")
        }
        return text
    }
}

/// A small, fast, seedable random generator (SplitMix64): every random choice in the project
/// (test inputs, shot sampling, augmentation, shuffles) draws from one, so runs repeat exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` values drawn uniformly from `range`.
    public mutating func uniform(count: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
        (0..<count).map { _ in Float.random(in: range, using: &self) }
    }

    /// `count` values from a normal distribution (Box–Muller).
    public mutating func normal(count: Int, mean: Float = 0, standardDeviation: Float = 1) -> [Float] {
        (0..<count).map { _ in
            let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &self)
            let u2 = Double.random(in: 0..<1, using: &self)
            return mean + standardDeviation * Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
        }
    }
}

