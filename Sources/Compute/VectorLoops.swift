/// The CPU backend's row passes as explicit eight-lane SIMD loops (with a scalar tail): the
/// compiler does not vectorise float reductions on its own (it may not reorder the additions),
/// and these passes ran at a few percent of the memory bandwidth as scalar loops.
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
        var lanes = SIMD8<Float>(repeating: -.infinity)
        var index = 0
        while index + 8 <= count {
            lanes = pointwiseMax(lanes, load(x, index) * scale)
            index += 8
        }
        var result = lanes.max()
        while index < count {
            result = Swift.max(result, scale * x[index])
            index += 1
        }
        return result
    }

    /// `y[i] = e^(scale · x[i] − shift)` (not stored when `y` is `nil`); returns their sum.
    static func exponentials(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>?, count: Int,
                             scale: Float, shift: Float) -> Float {
        var sums = SIMD8<Float>()
        var index = 0
        while index + 8 <= count {
            let value = fastExp(load(x, index) * scale - shift)
            if let y { store(value, y, index) }
            sums += value
            index += 8
        }
        var sum = sums.sum()
        while index < count {
            let value = fastExp(scale * x[index] - shift)
            y?[index] = value
            sum += value
            index += 1
        }
        return sum
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
        var index = 0
        while index + 8 <= count {
            let value = load(x, index)
            store(value / (1 + fastExp(value * -1.702)), y, index)
            index += 8
        }
        while index < count {
            y[index] = x[index] / (1 + fastExp(-1.702 * x[index]))
            index += 1
        }
    }
}
