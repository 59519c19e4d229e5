import CVectorMath

/// The CPU backend's row passes as explicit SIMD loops: the compiler does not vectorise float
/// reductions on its own (it may not reorder the additions), and these passes ran at a few
/// percent of the memory bandwidth as scalar loops. The passes with an exponential (softmax,
/// attention, QuickGELU, GELU, the trainer's head) run in C (`CVectorMath`), built for baseline
/// x86-64 and for AVX2 + FMA and chosen at run time; the others are eight-lane Swift SIMD.
///
/// Every function reads `count` elements from its inputs; outputs may be the inputs.
enum VectorLoops {
    @inline(__always)
    static func load(_ pointer: UnsafePointer<Float>, _ index: Int) -> SIMD8<Float> {
        UnsafeRawPointer(pointer + index).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>, _ index: Int) {
        UnsafeMutableRawPointer(pointer + index).storeBytes(of: value, as: SIMD8<Float>.self)
    }

    /// The largest `scale · x[i]` (−∞ for no elements).
    static func maximum(_ x: UnsafePointer<Float>, count: Int, scale: Float = 1) -> Float {
        vector_maximum(x, count, scale)
    }

    /// `y[i] = e^(scale · x[i] − shift)` (not stored when `y` is `nil`); returns their sum.
    /// The exponential: Cody–Waite reduction, degree-7 polynomial, at most 2 ulp from the correctly
    /// rounded result over normal results; NaN stays NaN, overflow gives +∞, underflow 0.
    static func exponentials(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>?, count: Int,
                             scale: Float, shift: Float) -> Float {
        vector_exponentials(x, y, count, scale, shift)
    }

    /// `exponentials` for a softmax row, where `shift` is the row maximum of `scale · x`, so every
    /// argument is at most about 0: the same bound, fewer selects; arguments above 88 give +∞.
    static func shiftedExponentials(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>?, count: Int,
                                    scale: Float, shift: Float) -> Float {
        vector_shifted_exponentials(x, y, count, scale, shift)
    }

    /// Softmax of `scale · x` over `rows` rows of `width` (`y` may be `x`). With `causalFrom`,
    /// the rows are rows `causalFrom ..< causalFrom + rows` of stacked `[width, width]` score
    /// matrices under a causal mask: row r sees its first `r % width + 1` columns, the rest is 0.
    static func softmaxRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, width: Int,
                            scale: Float, causalFrom: Int?) {
        vector_softmax_rows(x, y, rows, width, scale, causalFrom ?? -1)
    }

    /// `y[i] = factor · x[i]`.
    static func scale(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        var index = 0
        while index + 8 <= count {
            store(load(x, index) * factor, y, index)
            index += 8
        }
        while index < count {
            y[index] = factor * x[index]
            index += 1
        }
    }

    /// `z[i] = x[i] + factor · y[i]`.
    static func multiplyAdd(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, by factor: Float,
                            into z: UnsafeMutablePointer<Float>, count: Int) {
        var index = 0
        while index + 8 <= count {
            store(load(x, index) + factor * load(y, index), z, index)
            index += 8
        }
        while index < count {
            z[index] = x[index] + factor * y[index]
            index += 1
        }
    }

    /// `z[i] = factor · x[i] · y[i]`.
    static func multiply(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, by factor: Float,
                         into z: UnsafeMutablePointer<Float>, count: Int) {
        var index = 0
        while index + 8 <= count {
            store(factor * load(x, index) * load(y, index), z, index)
            index += 8
        }
        while index < count {
            z[index] = factor * x[index] * y[index]
            index += 1
        }
    }

    /// `Σ x[i]` and `Σ (x[i] − mean)²` for `mean` = the first divided by `count`, in two passes
    /// over the (cached) row: the mean and variance of a layer norm.
    static func meanAndVariance(_ x: UnsafePointer<Float>, count: Int) -> (mean: Float, variance: Float) {
        var sums = SIMD8<Float>()
        var index = 0
        while index + 8 <= count {
            sums += load(x, index)
            index += 8
        }
        var sum = sums.sum()
        while index < count {
            sum += x[index]
            index += 1
        }
        let mean = sum / Float(count)
        var squares = SIMD8<Float>()
        index = 0
        while index + 8 <= count {
            let centered = load(x, index) - mean
            squares += centered * centered
            index += 8
        }
        var square = squares.sum()
        while index < count {
            let centered = x[index] - mean
            square += centered * centered
            index += 1
        }
        return (mean, square / Float(count))
    }

    /// `y[i] = (x[i] − mean) · inverse · weight[i] + bias[i]`: a layer norm's output.
    static func normalize(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, mean: Float, inverse: Float,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>) {
        var index = 0
        while index + 8 <= count {
            store((load(x, index) - mean) * inverse * load(weight, index) + load(bias, index), y, index)
            index += 8
        }
        while index < count {
            y[index] = (x[index] - mean) * inverse * weight[index] + bias[index]
            index += 1
        }
    }

    /// `y[i] = x[i] · sigmoid(1.702 · x[i])` (QuickGELU).
    static func quickGELU(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        vector_quick_gelu(x, y, count)
    }

    /// `y[i] = 0.5 · x[i] · (1 + erf(x[i] / √2))` (the exact GELU), in double precision between
    /// float input and output: at most 1 ulp from the correctly rounded result over normal results;
    /// NaN stays NaN, +∞ gives +∞, −∞ gives −0.
    static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        vector_gelu(x, y, count)
    }
}

/// The exponential and the GELU of the CPU backend's row passes, for checks against the library
/// functions.
public enum VectorMath {
    /// Which build of the exponential and GELU passes runs.
    public enum Build: String, Sendable, CaseIterable {
        /// Baseline x86-64 (SSE2), or the only build on other processors.
        case baseline
        /// AVX2 + FMA, chosen when the processor has both.
        case avx2
    }

    /// The build in use: AVX2 + FMA when the processor has both.
    public static var build: Build { vector_math_uses_avx2() != 0 ? .avx2 : .baseline }

    /// Switches to `build` where the processor supports it; returns the build now in use.
    @discardableResult
    public static func select(_ build: Build) -> Build {
        vector_math_select(build == .avx2 ? 1 : 0) != 0 ? .avx2 : .baseline
    }

    /// `e^x` of each value, as the row passes compute it.
    public static func exponentials(of values: [Float]) -> [Float] {
        map(values) { _ = vector_exponentials($0, $1, $2, 1, 0) }
    }

    /// `e^x` of each value through the softmax rows' exponential (`shiftedExponentials`).
    public static func shiftedExponentials(of values: [Float]) -> [Float] {
        map(values) { _ = vector_shifted_exponentials($0, $1, $2, 1, 0) }
    }

    /// `0.5 · x · (1 + erf(x / √2))` of each value (the exact GELU), as the CPU backend computes it.
    public static func gelu(of values: [Float]) -> [Float] {
        map(values) { vector_gelu($0, $1, $2) }
    }

    /// `values` through a C pass taking (input, output, count).
    private static func map(
        _ values: [Float], _ pass: (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void
    ) -> [Float] {
        var result = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { input in
            result.withUnsafeMutableBufferPointer { output in pass(input.baseAddress, output.baseAddress, values.count) }
        }
        return result
    }
}
