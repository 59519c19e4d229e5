import Foundation

/// Plain-loop twins of the `TrainingBackend` operations, accumulating in `Double`.
extension ReferenceOps {
    static func copyRows(_ source: UnsafePointer<Float>, from start: Int, _ destination: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for row in 0..<rows {
            for column in 0..<width { destination[row * width + column] = source[(start + row) * width + column] }
        }
    }

    static func gatherRows(
        _ table: UnsafePointer<Float>, indices: UnsafePointer<Float>, from start: Int,
        _ destination: UnsafeMutablePointer<Float>, rows: Int, width: Int
    ) {
        for row in 0..<rows {
            let source = Int(indices[start + row])
            for column in 0..<width { destination[row * width + column] = table[source * width + column] }
        }
    }

    static func prototypeLogits(
        affinity: UnsafePointer<Float>, zeroShotLogits: UnsafePointer<Float>, classOffsets: UnsafePointer<Float>,
        alpha: Float, beta: Float, exponentials: UnsafeMutablePointer<Float>, logits: UnsafeMutablePointer<Float>,
        geometry g: HeadGeometry
    ) {
        for row in 0..<g.batch {
            for classIndex in 0..<g.classes {
                var sum = 0.0
                for key in Int(classOffsets[classIndex])..<Int(classOffsets[classIndex + 1]) {
                    let value = exp(-Double(beta) * (1 - Double(affinity[row * g.keys + key])))
                    exponentials[row * g.keys + key] = Float(value)
                    sum += value
                }
                let zeroShot = Double(zeroShotLogits[row * g.classes + classIndex])
                logits[row * g.classes + classIndex] = Float(zeroShot + Double(alpha) * sum)
            }
        }
    }

    static func softmaxCrossEntropy(
        logits: UnsafePointer<Float>, targets: UnsafePointer<Float>, gradientScale: Float,
        losses: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>, rows: Int, classes: Int
    ) {
        for row in 0..<rows {
            let line = logits + row * classes
            var maximum = -Double.infinity
            for column in 0..<classes { maximum = max(maximum, Double(line[column])) }
            var sum = 0.0
            for column in 0..<classes { sum += exp(Double(line[column]) - maximum) }
            let target = Int(targets[row])
            let loss = log(sum) + maximum - Double(line[target])
            var probabilities = [Double](repeating: 0, count: classes)
            for column in 0..<classes { probabilities[column] = exp(Double(line[column]) - maximum) / sum }
            losses[row] = Float(loss)
            for column in 0..<classes {
                let onehot = column == target ? 1.0 : 0.0
                gradient[row * classes + column] = Float(Double(gradientScale) * (probabilities[column] - onehot))
            }
        }
    }

    static func prototypeAffinityGradient(
        exponentials: UnsafePointer<Float>, logitGradient: UnsafePointer<Float>, keyClasses: UnsafePointer<Float>,
        factor: Float, _ affinityGradient: UnsafeMutablePointer<Float>, geometry g: HeadGeometry
    ) {
        for row in 0..<g.batch {
            for key in 0..<g.keys {
                let upstream = Double(logitGradient[row * g.classes + Int(keyClasses[key])])
                affinityGradient[row * g.keys + key] = Float(Double(factor) * Double(exponentials[row * g.keys + key]) * upstream)
            }
        }
    }

    static func adamWStep(
        parameters: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>,
        firstMoment: UnsafeMutablePointer<Float>, secondMoment: UnsafeMutablePointer<Float>, count: Int, step: AdamWStep
    ) {
        let rate = Double(step.learningRate)
        let beta1 = Double(step.beta1), beta2 = Double(step.beta2)
        for index in 0..<count {
            let g = Double(gradient[index])
            let decayed = Double(parameters[index]) * (1 - rate * Double(step.weightDecay))
            let m = beta1 * Double(firstMoment[index]) + (1 - beta1) * g
            let v = beta2 * Double(secondMoment[index]) + (1 - beta2) * g * g
            let denominator = v.squareRoot() / Double(step.secondCorrectionRoot) + Double(step.epsilon)
            parameters[index] = Float(decayed - rate / Double(step.firstCorrection) * m / denominator)
            firstMoment[index] = Float(m)
            secondMoment[index] = Float(v)
        }
    }

    static func rowMaximum(
        _ x: UnsafePointer<Float>, indices: UnsafeMutablePointer<Float>, maxima: UnsafeMutablePointer<Float>,
        rows: Int, width: Int, asProbability: Bool
    ) {
        for row in 0..<rows {
            var best = 0
            for column in 1..<max(width, 1) {
                let value = x[row * width + column], current = x[row * width + best]
                if value > current || (current.isNaN && !value.isNaN) { best = column }
            }
            indices[row] = Float(best)
            maxima[row] = x[row * width + best]
            if asProbability {
                var sum = 0.0
                for column in 0..<width { sum += exp(Double(x[row * width + column]) - Double(maxima[row])) }
                maxima[row] = Float(1 / sum)
            }
        }
    }

    static func reduceSum(_ x: UnsafePointer<Float>, count: Int, scale: Float, into output: UnsafeMutablePointer<Float>) {
        var sum = 0.0
        for index in 0..<count { sum += Double(x[index]) }
        output.pointee = Float(Double(scale) * sum)
    }
}
