import Adaptation
import Compute
import Testing

/// `upadapter bench methods`' library part: the synthetic features' profile, the method names,
/// and the scoring against the generator's classes.
@Suite struct MethodBenchmarkTests {
    @Test func syntheticFeaturesFollowTheirProfile() throws {
        let data = try SyntheticFeatures(poolImages: 3000, testImages: 600, classes: 6, dimension: 16, imbalance: 10, seed: 3)
        #expect(data.pool.rows == 3000 && data.test.rows == 600 && data.textClassifier.rows == 6)
        let counts = (0..<6).map { c in data.poolLabels.filter { $0 == c }.count }
        // Class c holds a share ∝ 10^(−c/5): the first class ten times the last, within rounding.
        #expect(abs(Double(counts[0]) / Double(counts[5]) - 10) < 0.2, "pool class counts \(counts)")
        for row in 0..<data.pool.rows {
            let norm = (0..<16).reduce(Float(0)) { $0 + data.pool.values[row * 16 + $1] * data.pool.values[row * 16 + $1] }
            #expect(abs(norm - 1) < 1e-4, "pool row \(row) is not unit length")
        }
    }

    @Test func everyNamedMethodRunsAndUnknownNamesAreRefused() throws {
        let data = try SyntheticFeatures(poolImages: 800, testImages: 200, classes: 5, dimension: 16, seed: 2)
        let zeroShot = try MethodBenchmark.run(
            try MethodBenchmark.method(named: "zero_shot", proxySteps: 1), on: data, backend: CPUBackend(), seed: 2)
        // Zero-shot's accuracy, recomputed here from the text classifier's argmax.
        var correct = 0
        for row in 0..<data.test.rows {
            let scores = (0..<5).map { c in (0..<16).reduce(Float(0)) { $0 + data.test.values[row * 16 + $1] * data.textClassifier.values[c * 16 + $1] } }
            if scores.firstIndex(of: scores.max()!) == data.testLabels[row] { correct += 1 }
        }
        #expect(abs(zeroShot.top1 - Double(correct) / 200) < 1e-12)
        for name in MethodBenchmark.methodNames where name != "zero_shot" {
            let result = try MethodBenchmark.run(try MethodBenchmark.method(named: name, proxySteps: 20), on: data, backend: CPUBackend(), seed: 2)
            #expect((0...1).contains(result.top1) && (0...1).contains(result.balancedAccuracy), "\(name): \(result)")
        }
        #expect(throws: AdaptationError.self) { try MethodBenchmark.method(named: "tip_adapter", proxySteps: 20) }
    }
}
