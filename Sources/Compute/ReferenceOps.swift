import Foundation

/// Plain-loop implementations of every operation: the "CPU twin" each kernel and each fast
/// path is tested against. Written for clarity, not speed; accumulation is in `Double` where a
/// long sum would otherwise lose precision, so the twin is the more accurate side of a comparison.
public enum ReferenceOps {
    /// See `Backend.matmul`. Buffers are row-major; `a`, `b`, `c` hold whole batches.
    static func matmul(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        _ c: UnsafeMutablePointer<Float>, geometry g: MatmulGeometry, options: MatmulOptions
    ) {
        for batch in 0..<g.batch {
            let baseA = a + batch * g.strideA
            let baseB = b + batch * g.strideB
            let baseC = c + batch * g.m * g.n
            for row in 0..<g.m {
                for column in 0..<g.n {
                    var sum = 0.0
                    for inner in 0..<g.k {
                        let valueA = options.transposeA ? baseA[inner * g.m + row] : baseA[row * g.k + inner]
                        let valueB = options.transposeB ? baseB[column * g.k + inner] : baseB[inner * g.n + column]
                        sum += Double(valueA) * Double(valueB)
                    }
                    var result = Float(sum) * options.alpha
                    if options.beta != 0 { result += options.beta * baseC[row * g.n + column] }
                    if let bias { result += bias[column] }
                    if let kind = options.activation { result = activate(kind, result) }
                    baseC[row * g.n + column] = result
                }
            }
        }
    }

    static func softmaxRows(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, width: Int,
        scale: Float, causalMask: Bool
    ) {
        for row in 0..<rows {
            let visible = causalMask ? (row % width) + 1 : width
            var maximum = -Float.infinity
            for column in 0..<visible { maximum = max(maximum, scale * x[row * width + column]) }
            var sum = 0.0
            for column in 0..<visible { sum += Double(expf(scale * x[row * width + column] - maximum)) }
            for column in 0..<width {
                y[row * width + column] = column < visible
                    ? Float(Double(expf(scale * x[row * width + column] - maximum)) / sum) : 0
            }
        }
    }

    static func layerNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        _ y: UnsafeMutablePointer<Float>, rows: Int, width: Int, epsilon: Float
    ) {
        for row in 0..<rows {
            var mean = 0.0
            for column in 0..<width { mean += Double(x[row * width + column]) }
            mean /= Double(width)
            var variance = 0.0
            for column in 0..<width {
                let centered = Double(x[row * width + column]) - mean
                variance += centered * centered
            }
            variance /= Double(width)
            let inverse = 1 / (variance + Double(epsilon)).squareRoot()
            for column in 0..<width {
                let normalized = (Double(x[row * width + column]) - mean) * inverse
                y[row * width + column] = Float(normalized * Double(weight[column]) + Double(bias[column]))
            }
        }
    }

    static func l2NormalizeRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for row in 0..<rows {
            var sum = 0.0
            for column in 0..<width { sum += Double(x[row * width + column]) * Double(x[row * width + column]) }
            let inverse = sum > 0 ? 1 / sum.squareRoot() : 0
            for column in 0..<width { y[row * width + column] = Float(Double(x[row * width + column]) * inverse) }
        }
    }

    static func cosineSimilarity(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, width: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var dot = 0.0, normA = 0.0, normB = 0.0
                for t in 0..<width {
                    let valueA = Double(a[i * width + t]), valueB = Double(b[j * width + t])
                    dot += valueA * valueB
                    normA += valueA * valueA
                    normB += valueB * valueB
                }
                let denominator = normA.squareRoot() * normB.squareRoot()
                c[i * n + j] = denominator > 0 ? Float(dot / denominator) : 0
            }
        }
    }

    static func activation(_ kind: Activation, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for index in 0..<count { y[index] = activate(kind, x[index]) }
    }

    /// One element of `activation`, in double precision.
    static func activate(_ kind: Activation, _ x: Float) -> Float {
        let value = Double(x)
        switch kind {
        case .quickGELU: return Float(value / (1 + exp(-1.702 * value)))
        case .gelu: return Float(0.5 * value * (1 + erf(value / 2.0.squareRoot())))
        }
    }

    static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, count: Int, blockCount: Int) {
        for index in 0..<count { c[index] = a[index] + b[index % blockCount] }
    }

    static func scale(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, factor: Float) {
        for index in 0..<count { y[index] = factor * x[index] }
    }

    static func gatherRows(_ table: UnsafePointer<Float>, indices: [Int32], _ y: UnsafeMutablePointer<Float>, width: Int) {
        for (row, index) in indices.enumerated() {
            for column in 0..<width { y[row * width + column] = table[Int(index) * width + column] }
        }
    }

    static func permute(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, outputShape: [Int], inputStrides: [Int]) {
        let count = outputShape.elementCount
        var coordinate = [Int](repeating: 0, count: outputShape.count)
        for index in 0..<count {
            var source = 0
            for axis in 0..<outputShape.count { source += coordinate[axis] * inputStrides[axis] }
            y[index] = x[source]
            var axis = outputShape.count - 1
            while axis >= 0 {
                coordinate[axis] += 1
                if coordinate[axis] < outputShape[axis] { break }
                coordinate[axis] = 0
                axis -= 1
            }
        }
    }

    static func splitHeads(
        _ qkv: UnsafePointer<Float>, _ outputs: [UnsafeMutablePointer<Float>], geometry g: HeadSplitGeometry
    ) {
        for (part, output) in outputs.enumerated() {
            for b in 0..<g.batch {
                for h in 0..<g.heads {
                    for t in 0..<g.tokens {
                        for d in 0..<g.headSize {
                            let source = ((b * g.tokens + t) * 3 + part) * g.width + h * g.headSize + d
                            output[((b * g.heads + h) * g.tokens + t) * g.headSize + d] = qkv[source]
                        }
                    }
                }
            }
        }
    }
}
