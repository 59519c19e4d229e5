import Compute
import Foundation
import PrototypeTrainer
import Testing

/// Seeded shuffles, schedules, the α/β search and the baselines.
@Suite struct TrainingBehaviourTests {
    /// A small CLIP-like problem: classes share a direction, images scatter around class centres,
    /// and the zero-shot classifier is only partly right.
    struct Problem {
        let textClassifier: HostMatrix
        let features: HostMatrix
        let labels: [Int]
    }

    static func problem(classes: Int = 6, dim: Int = 17, rows: Int = 90, seed: UInt64 = 5) throws -> Problem {
        var generator = SeededGenerator(seed: seed)
        func normalised(_ row: [Float]) -> [Float] {
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return row.map { $0 / norm }
        }
        let shared = normalised(generator.normal(count: dim))
        let centers = (0..<classes).map { _ in normalised(generator.normal(count: dim)) }
        var text = [Float](), features = [Float](), labels = [Int]()
        for classIndex in 0..<classes {
            let noise = generator.normal(count: dim, standardDeviation: 0.6)
            text += normalised((0..<dim).map { 2 * shared[$0] + centers[classIndex][$0] + noise[$0] })
        }
        for row in 0..<rows {
            let label = row % classes
            let noise = generator.normal(count: dim, standardDeviation: 0.35)
            features += normalised((0..<dim).map { shared[$0] + 0.1 * (centers[label][$0] + noise[$0]) })
            labels.append(label)
        }
        return Problem(
            textClassifier: try HostMatrix(values: text, rows: classes, columns: dim),
            features: try HostMatrix(values: features, rows: rows, columns: dim), labels: labels)
    }

    @Test func shuffledTrainingRepeatsWithTheSeedAndLowersTheLoss() throws {
        let problem = try Self.problem()
        let prototypes = try Prototypes.mean(features: problem.features, labels: problem.labels, textClassifier: problem.textClassifier)
        let classifier = try AdaptedClassifier(textClassifier: problem.textClassifier, prototypes: prototypes, head: HeadParameters(alpha: 3, beta: 5), logitScale: 100)
        let configuration = TrainingConfiguration(epochs: 30, batchSize: 16, learningRate: 1e-2, epsilon: 1e-4, weightDecay: 0.01, seed: 9)
        let trainer = PrototypeTrainer(backend: CPUBackend())
        let first = try trainer.train(classifier, features: problem.features, labels: problem.labels, configuration: configuration)
        let again = try trainer.train(classifier, features: problem.features, labels: problem.labels, configuration: configuration)
        #expect(first.stepLosses == again.stepLosses)
        #expect(first.prototypes == again.prototypes)
        var other = configuration
        other.seed = 10
        let reseeded = try trainer.train(classifier, features: problem.features, labels: problem.labels, configuration: other)
        #expect(reseeded.stepLosses != first.stepLosses, "another seed gives another batch order")
        #expect(first.stepLosses.count == 30 * 6 && first.epochLosses.count == 30)
        let firstLoss = try #require(first.epochLosses.first), lastLoss = try #require(first.epochLosses.last)
        #expect(lastLoss < 0.8 * firstLoss, "epoch losses \(first.epochLosses)")
        // Cosine decay from the peak towards zero.
        #expect(first.learningRates.first == 1e-2)
        #expect((first.learningRates.last ?? 1) < 1e-5)
        // The trained head fits its training rows at least as well as the untrained one.
        let before = try classifier.accuracy(features: problem.features, labels: problem.labels, backend: CPUBackend())
        let after = try first.classifier.accuracy(features: problem.features, labels: problem.labels, backend: CPUBackend())
        #expect(after >= before)
    }

    @Test func explicitOrdersAreChecked() throws {
        let problem = try Self.problem(rows: 12)
        let prototypes = try Prototypes.mean(features: problem.features, labels: problem.labels, textClassifier: problem.textClassifier)
        let classifier = try AdaptedClassifier(textClassifier: problem.textClassifier, prototypes: prototypes, head: HeadParameters(alpha: 1, beta: 1), logitScale: 100)
        let trainer = PrototypeTrainer(backend: CPUBackend())
        let repeated = TrainingConfiguration(epochs: 1, batchSize: 4, learningRate: 1e-3, epsilon: 1e-4, weightDecay: 0.01, batchOrder: .explicit([Array(repeating: 0, count: 12)]), seed: 1)
        #expect(throws: TrainerError.self) { try trainer.train(classifier, features: problem.features, labels: problem.labels, configuration: repeated) }
        let tooFew = TrainingConfiguration(epochs: 2, batchSize: 4, learningRate: 1e-3, epsilon: 1e-4, weightDecay: 0.01, batchOrder: .explicit([Array(0..<12)]), seed: 1)
        #expect(throws: TrainerError.self) { try trainer.train(classifier, features: problem.features, labels: problem.labels, configuration: tooFew) }
        #expect(throws: TrainerError.self) {
            try trainer.train(classifier, features: problem.features, labels: Array(repeating: 9, count: 12), configuration: TrainingConfiguration(epochs: 20, batchSize: 256, learningRate: 1e-3, epsilon: 1e-4, weightDecay: 0.01, seed: 1))
        }
    }

    @Test func meanPrototypesFallBackToTheTextClassifier() throws {
        let problem = try Self.problem(rows: 10)
        // Class 5 has no sample.
        let labels = problem.labels.map { min($0, 4) }
        let prototypes = try Prototypes.mean(features: problem.features, labels: labels, textClassifier: problem.textClassifier)
        #expect(Array(prototypes.keys.row(5)) == Array(problem.textClassifier.row(5)))
        #expect(prototypes.classOffsets == Array(0...6))
    }

    @Test func cacheKeysAreSortedByClassStably() throws {
        let problem = try Self.problem(rows: 9)
        let labels = [2, 0, 2, 1, 0, 5, 2, 1, 0]
        let cache = try Prototypes.cache(features: problem.features, labels: labels, classCount: 6)
        let order = [1, 4, 8, 3, 7, 0, 2, 6, 5]
        #expect(cache.keyClasses == order.map { labels[$0] })
        #expect(cache.keys == (try problem.features.rows(at: order)))
        #expect(cache.classOffsets == [0, 3, 5, 8, 8, 8, 9])
    }

    @Test func searchSplitsPerClassAndScoresEveryGridPoint() throws {
        let problem = try Self.problem(rows: 60)
        let search = AlphaBetaSearch(alphas: [0.5, 2, 8], betas: [1, 5.5], heldOutFraction: 0.25, seed: 3)
        let (kept, heldOut) = try search.split(labels: problem.labels)
        #expect(Set(kept).isDisjoint(with: heldOut) && kept.count + heldOut.count == 60)
        for classIndex in 0..<6 {
            #expect(heldOut.filter { problem.labels[$0] == classIndex }.count == 2, "floor(0.25 · 10) per class")
        }
        #expect(try search.split(labels: problem.labels) == (kept, heldOut) as ([Int], [Int]), "the split repeats with the seed")

        let cache = try Baselines.tipAdapter(
            textClassifier: problem.textClassifier, features: try problem.features.rows(at: kept),
            labels: kept.map { problem.labels[$0] }, head: HeadParameters(alpha: 1, beta: 1), logitScale: 100)
        let heldOutFeatures = try problem.features.rows(at: heldOut), heldOutLabels = heldOut.map { problem.labels[$0] }
        let result = try search.evaluate(cache, features: heldOutFeatures, pseudoLabels: heldOutLabels, backend: CPUBackend())
        #expect(result.grid.count == 6)
        // Each point's score, recomputed independently with the double-precision twin.
        for point in result.grid {
            let twin = GradientTests.DoubleHead(
                textClassifier: problem.textClassifier.values.map(Double.init), features: heldOutFeatures.values.map(Double.init),
                labels: heldOutLabels, keyClasses: cache.prototypes.keyClasses, classes: 6, dim: 17,
                alpha: Double(point.head.alpha), beta: Double(point.head.beta))
            let keys = cache.prototypes.keys.values.map(Double.init)
            let logits = twin.logits(keys: keys)
            let correct = heldOutLabels.indices.filter { row in
                let line = logits[(row * 6)..<((row + 1) * 6)]
                return line.firstIndex(of: line.max() ?? 0).map { $0 - row * 6 } == heldOutLabels[row]
            }.count
            #expect(point.accuracy == Double(correct) / Double(heldOutLabels.count), "accuracy at \(point.head)")
            #expect(abs(point.crossEntropy - twin.loss(keys: keys)) < 1e-4, "cross-entropy at \(point.head)")
        }
        let top = result.grid.map(\.accuracy).max() ?? 0
        let tied = result.grid.filter { $0.accuracy == top }
        #expect(result.best == tied.min { $0.crossEntropy < $1.crossEntropy })
    }

    @Test func wholeSearchTrainsOnTheKeptPart() throws {
        let problem = try Self.problem(rows: 48)
        let search = AlphaBetaSearch(alphas: [1, 4], betas: [2, 6], heldOutFraction: 0.25, seed: 4)
        let result = try search.run(
            textClassifier: problem.textClassifier, features: problem.features, pseudoLabels: problem.labels, kind: .mean,
            initialHead: HeadParameters(alpha: 1, beta: 5.5), training: TrainingConfiguration(epochs: 2, batchSize: 16, learningRate: 1e-3, epsilon: 1e-4, weightDecay: 0.01, seed: 1),
            backend: CPUBackend(), logitScale: 100)
        #expect(result.grid.map(\.head) == [(1, 2), (1, 6), (4, 2), (4, 6)].map { HeadParameters(alpha: $0.0, beta: $0.1) })
        #expect(result.grid.contains(result.best))
        #expect(throws: TrainerError.self) {
            try AlphaBetaSearch(
                alphas: [0.5, 1, 1.17, 2, 3, 5, 7.5, 10], betas: [1, 2, 3, 4, 5.5, 7, 8.5, 10], heldOutFraction: 0.01, seed: 1
            ).run(
                textClassifier: problem.textClassifier, features: problem.features, pseudoLabels: problem.labels, kind: .cache,
                initialHead: HeadParameters(alpha: 1, beta: 1), training: nil, backend: CPUBackend(), logitScale: 100)
        }
    }

    @Test func shotsArePerClassAndSeeded() throws {
        let labels = (0..<50).map { $0 % 4 } + [4]
        let shots = try Baselines.sampleShots(labels: labels, shots: 3, seed: 8)
        #expect(shots.count == 4 * 3 + 1)
        for classIndex in 0..<4 { #expect(shots.filter { labels[$0] == classIndex }.count == 3) }
        #expect(try Baselines.sampleShots(labels: labels, shots: 3, seed: 8) == shots)
        #expect(try Baselines.sampleShots(labels: labels, shots: 3, seed: 9) != shots)
    }

    @Test func tipAdapterFTrainsTheCache() throws {
        let problem = try Self.problem(rows: 30)
        let result = try Baselines.tipAdapterF(
            textClassifier: problem.textClassifier, features: problem.features, labels: problem.labels,
            head: HeadParameters(alpha: 2, beta: 5), configuration: TrainingConfiguration(epochs: 3, batchSize: 8, learningRate: 1e-3, epsilon: 1e-4, weightDecay: 0.01, seed: 1), backend: CPUBackend(), logitScale: 100)
        #expect(result.prototypes.kind == .cache && result.prototypes.keyCount == 30)
        #expect(result.stepLosses.count == 12)
    }

    @Test func benchmarkEpochReturnsSeconds() throws {
        let seconds = try PrototypeTrainer(backend: CPUBackend()).benchmarkEpoch(
            PrototypeTrainer.BenchmarkCase(rows: 300, classes: 10, dimension: 32, batchSize: 64), repeats: 1)
        #expect(seconds > 0 && seconds < 10)
    }
}
