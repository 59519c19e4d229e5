@testable import Adaptation
import Compute
import PseudoLabeling
import Foundation
import Testing

/// The fixture of scripts/make_label_free_fixtures.py: a long-tailed pool, a balanced test set, a
/// biased text classifier, and every label-free method's output from the NumPy reference
/// (scripts/label_free_reference.py, float64).
struct LabelFreeFixture: Decodable {
    let classes: Int
    let dim: Int
    let logit_scale: Float
    let steps: Int
    let pool: [Float]
    let test: [Float]
    let text: [Float]
    let sinkhorn_uniform: [Float]
    let marginal: [Double]
    let sinkhorn_marginal: [Float]
    let inmap_proxies: [Float]
    let mixture_prior: [Double]
    let prior_transport_proxies: [Float]
    let prior_transport_round_steps: Int
    let prior_transport_rounds3_proxies: [Float]
    let prior_transport_first_kappa: Double
    let prior_transport_hedged_proxies: [Float]
    let transclip_transductive: [Float]
    let transclip_inductive: [Float]
    let zlap_transductive: [Float]
    let zlap_inductive: [Float]

    static func load() throws -> LabelFreeFixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/label_free.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw AdaptationError.missingInput(criterion: "label-free fixture", input: "\(url.path) (run scripts/make_label_free_fixtures.py)")
        }
        return try JSONDecoder().decode(LabelFreeFixture.self, from: data)
    }

    var poolMatrix: HostMatrix { get throws { try HostMatrix(values: pool, rows: pool.count / dim, columns: dim) } }
    var testMatrix: HostMatrix { get throws { try HostMatrix(values: test, rows: test.count / dim, columns: dim) } }
    var textMatrix: HostMatrix { get throws { try HostMatrix(values: text, rows: classes, columns: dim) } }

    /// The default's settings with the fixture's step counts: `rounds` rounds (of `steps`, else
    /// the fixture's per-round steps), a zero-shot threshold (nil: always adapt) and the hedge.
    func priorTransportSettings(rounds: Int, steps: Int? = nil, keepZeroShotAbove: Double? = nil, hedgeUniform: Bool = false) -> PriorTransportMethod.Settings {
        var settings = PriorTransportMethod.Settings()
        settings.transport.steps = steps ?? prior_transport_round_steps
        settings.rounds = rounds
        settings.keepZeroShotAbove = keepZeroShotAbove
        settings.hedgeUniform = hedgeUniform
        return settings
    }

    func context(backend: any TrainingBackend) throws -> AdaptationContext {
        let zeroShot = ZeroShotModel(textClassifier: try textMatrix, logitScale: logit_scale)
        return try AdaptationContext(
            textClassifier: try textMatrix, logitScale: logit_scale, pool: try poolMatrix,
            zeroShotPredictions: try zeroShot.predictions(features: try poolMatrix, backend: backend),
            scoringSample: [], backend: backend, seed: 1, warn: { _ in })
    }
}

/// Largest |actual − expected| with a message naming the first element past `tolerance`.
func expectClose(_ actual: [Float], _ expected: [Float], tolerance: Float, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    var worst: Float = 0, worstIndex = 0
    for index in 0..<min(actual.count, expected.count) {
        let error = abs(actual[index] - expected[index])
        if !(error <= worst) { worst = error; worstIndex = index }
    }
    #expect(worst <= tolerance, "\(what): max error \(worst) at \(worstIndex) (got \(actual.isEmpty ? .nan : actual[worstIndex]), expected \(expected.isEmpty ? .nan : expected[worstIndex]))", sourceLocation: sourceLocation)
}

/// Fails unless some element of `actual` differs from `other` by more than `margin`.
func expectFar(_ actual: [Float], _ other: [Float], margin: Float = 1e-2, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let largest = zip(actual, other).map { abs($0 - $1) }.max() ?? 0
    #expect(largest > margin, "\(what): the two differ by at most \(largest)", sourceLocation: sourceLocation)
}

@Suite struct LabelFreeMethodTests {
    @Test("Sinkhorn labels equal the reference, with the uniform and a given marginal; their column means follow it")
    func sinkhorn() throws {
        let fixture = try LabelFreeFixture.load()
        let similarities = try CPUBackend().withProducts(try fixture.poolMatrix, try fixture.textMatrix)
        let uniform = try TransportLabels.sinkhorn(similarities: similarities, temperature: 0.01, iterations: 20)
        expectClose(uniform.values, fixture.sinkhorn_uniform, tolerance: 1e-4, "uniform Sinkhorn")
        let given = try TransportLabels.sinkhorn(similarities: similarities, temperature: 0.01, iterations: 20, marginal: fixture.marginal)
        expectClose(given.values, fixture.sinkhorn_marginal, tolerance: 1e-4, "Sinkhorn to a marginal")
        #expect(throws: AdaptationError.self) { try TransportLabels.sinkhorn(similarities: similarities, temperature: 0.01, iterations: 2, marginal: [1, 2]) }
        #expect(throws: AdaptationError.self) { try TransportLabels.sinkhorn(similarities: similarities, temperature: 0.01, iterations: 2, marginal: [1, -1, 1, 1, 1]) }
    }

    @Test("InMaP's proxies equal the reference's on every backend", arguments: try AdaptationBackends.all.map { BackendCase($0) })
    func inMaP(_ backendCase: BackendCase) throws {
        let fixture = try LabelFreeFixture.load()
        var settings = InMaPMethod.Settings()
        settings.steps = fixture.steps
        let outcome = try InMaPMethod(settings: settings).adapt(try fixture.context(backend: backendCase.backend))
        let classifier = try #require(outcome.classifier as? ProxyClassifier)
        expectClose(classifier.proxies.values, fixture.inmap_proxies, tolerance: 2e-3, "InMaP proxies")
    }

    @Test("Later rounds transport from the previous proxies and refit them; they and the first round's κ equal the reference's",
          arguments: try AdaptationBackends.all.map { BackendCase($0) })
    func priorTransportRounds(_ backendCase: BackendCase) throws {
        let fixture = try LabelFreeFixture.load()
        let settings = fixture.priorTransportSettings(rounds: 3)
        let outcome = try PriorTransportMethod(settings: settings).adapt(try fixture.context(backend: backendCase.backend))
        let adapter = try #require(outcome.adapter)
        expectClose(adapter.textClassifier.values, fixture.prior_transport_rounds3_proxies, tolerance: 2e-3, "proxies after 3 rounds")
        let agreement = try #require(outcome.classMarginal?.agreement)
        #expect(abs(agreement - fixture.prior_transport_first_kappa) < 1e-9, "κ \(agreement), reference \(fixture.prior_transport_first_kappa)")
        // One round differs from three: the rounds did something.
        expectFar(adapter.textClassifier.values, fixture.prior_transport_proxies, "3 rounds against 1")
    }

    @Test("The hedge averages the rounds to the estimated marginal and to a uniform one, as the reference does", arguments: try AdaptationBackends.all.map { BackendCase($0) })
    func priorTransportHedge(_ backendCase: BackendCase) throws {
        let fixture = try LabelFreeFixture.load()
        let settings = fixture.priorTransportSettings(rounds: 3, hedgeUniform: true)
        let outcome = try PriorTransportMethod(settings: settings).adapt(try fixture.context(backend: backendCase.backend))
        let adapter = try #require(outcome.adapter)
        expectClose(adapter.textClassifier.values, fixture.prior_transport_hedged_proxies, tolerance: 2e-3, "hedged class weights")
        expectFar(adapter.textClassifier.values, fixture.prior_transport_rounds3_proxies, "hedged against the estimated marginal's rounds alone")
        #expect(outcome.notes.contains { $0.contains("uniform class marginal") })
    }

    @Test("At or above keep_zero_shot_above the adapter keeps zero-shot CLIP, just below it adapts", arguments: try AdaptationBackends.all.map { BackendCase($0) })
    func priorTransportKeepsZeroShot(_ backendCase: BackendCase) throws {
        let fixture = try LabelFreeFixture.load()
        let context = try fixture.context(backend: backendCase.backend)
        var settings = fixture.priorTransportSettings(rounds: 3, keepZeroShotAbove: fixture.prior_transport_first_kappa - 1e-6)
        let kept = try PriorTransportMethod(settings: settings).adapt(context)
        let keptAdapter = try #require(kept.adapter)
        #expect(keptAdapter.textClassifier.values == fixture.text)
        let test = try fixture.testMatrix
        let zeroShot = try ZeroShotModel(textClassifier: try fixture.textMatrix, logitScale: fixture.logit_scale).predictions(features: test, backend: backendCase.backend)
        #expect(try keptAdapter.predictions(features: test, backend: backendCase.backend).labels == zeroShot.labels)
        #expect(kept.notes.contains { $0.contains("keeps zero-shot CLIP") })
        #expect(kept.classMarginal?.decision?.contains("keeps zero-shot CLIP") == true)
        settings.keepZeroShotAbove = fixture.prior_transport_first_kappa + 1e-6
        let adaptedOutcome = try PriorTransportMethod(settings: settings).adapt(context)
        #expect(adaptedOutcome.classMarginal?.decision == nil)
        let adapted = try #require(adaptedOutcome.adapter)
        expectClose(adapted.textClassifier.values, fixture.prior_transport_rounds3_proxies, tolerance: 2e-3, "proxies just below the threshold")
    }

    @Test("the mixture's class marginal and the prior-aware transport proxies equal the reference's", arguments: try AdaptationBackends.all.map { BackendCase($0) })
    func priorTransport(_ backendCase: BackendCase) throws {
        let fixture = try LabelFreeFixture.load()
        let settings = fixture.priorTransportSettings(rounds: 1, steps: fixture.steps)
        let outcome = try PriorTransportMethod(settings: settings).adapt(try fixture.context(backend: backendCase.backend))
        let prior = try #require(outcome.classMarginal?.shares)
        expectClose(prior.map(Float.init), fixture.mixture_prior.map(Float.init), tolerance: 2e-3, "estimated class marginal")
        let adapter = try #require(outcome.adapter)
        expectClose(adapter.textClassifier.values, fixture.prior_transport_proxies, tolerance: 2e-3, "transport proxies")
        // The adapter file's form (proxies as class weights, α 0) classifies like the proxies.
        let test = try fixture.testMatrix
        let byAdapter = try adapter.predictions(features: test, backend: backendCase.backend).labels
        let byProxies = try ProxyClassifier(proxies: adapter.textClassifier, temperature: settings.transport.proxyTemperature)
            .predictions(features: test, backend: backendCase.backend).labels
        #expect(byAdapter == byProxies)
    }

    @Test("TransCLIP-ZS assignments equal the reference's, transductive and inductive", arguments: try AdaptationBackends.all.map { BackendCase($0) })
    func transCLIP(_ backendCase: BackendCase) throws {
        let fixture = try LabelFreeFixture.load()
        let context = try fixture.context(backend: backendCase.backend)
        for (mode, expected) in [(TransCLIPMethod.Mode.transductive, fixture.transclip_transductive), (.inductive, fixture.transclip_inductive)] {
            let outcome = try TransCLIPMethod(mode: mode).adapt(context)
            let probabilities = try outcome.classifier.probabilities(features: try fixture.testMatrix, backend: backendCase.backend)
            expectClose(probabilities.values, expected, tolerance: 2e-3, "TransCLIP \(mode.rawValue)")
        }
    }

    @Test("ZLaP scores equal the reference's, transductive and inductive", arguments: try AdaptationBackends.all.map { BackendCase($0) })
    func zLaP(_ backendCase: BackendCase) throws {
        let fixture = try LabelFreeFixture.load()
        let context = try fixture.context(backend: backendCase.backend)
        for (mode, expected) in [(ZLaPMethod.Mode.transductive, fixture.zlap_transductive), (.inductive, fixture.zlap_inductive)] {
            let outcome = try ZLaPMethod(mode: mode).adapt(context)
            let probabilities = try outcome.classifier.probabilities(features: try fixture.testMatrix, backend: backendCase.backend)
            expectClose(probabilities.values, expected, tolerance: 1e-3, "ZLaP \(mode.rawValue)")
        }
    }

    @Test("the blocked neighbour search equals a full sort, with and without the query itself")
    func neighbours() throws {
        let fixture = try LabelFreeFixture.load()
        let pool = try fixture.poolMatrix, backend = CPUBackend()
        let device = try DeviceMatrix(pool, backend: backend)
        for excluding in [false, true] {
            // A tile of 7 × keys forces many blocks.
            let list = try NeighbourList.search(queries: pool, keys: device, count: 4, excludingSelf: excluding, tileElements: 7 * pool.rows)
            for query in [0, 1, 57, pool.rows - 1] {
                let row = Array(pool.row(query))
                var scored = [(key: Int, similarity: Float)]()
                for key in 0..<pool.rows where !(excluding && key == query) {
                    let other = Array(pool.row(key))
                    var dot: Float = 0
                    for index in 0..<row.count { dot += row[index] * other[index] }
                    scored.append((key, dot))
                }
                scored.sort { $0.similarity > $1.similarity || ($0.similarity == $1.similarity && $0.key < $1.key) }
                let expected: [Int] = scored.prefix(4).map { $0.key }
                let found: [Int] = list.indices[(query * 4)..<(query * 4 + 4)].map { Int($0) }
                #expect(found == expected, "query \(query), excluding itself: \(excluding)")
            }
        }
    }

    @Test("settings out of range are refused naming the key")
    func badSettings() throws {
        let fixture = try LabelFreeFixture.load()
        let context = try fixture.context(backend: CPUBackend())
        var zlap = ZLaPMethod.Settings()
        zlap.alpha = 1
        #expect(throws: AdaptationError.invalidSetting(name: "zlap.alpha", value: "1.0", reason: "must lie in (0, 1)")) {
            try ZLaPMethod(mode: .inductive, settings: zlap).adapt(context)
        }
        var inmap = InMaPMethod.Settings()
        inmap.poolSample = 0
        #expect(throws: AdaptationError.self) { try InMaPMethod(settings: inmap).adapt(context) }
    }
}

/// A backend as a test argument, named for the test's output.
struct BackendCase: CustomTestStringConvertible, Sendable {
    let backend: any TrainingBackend
    init(_ backend: any TrainingBackend) { self.backend = backend }
    var testDescription: String { backend.name }
}

extension CPUBackend {
    /// `a · bᵀ` through the device products the methods use.
    func withProducts(_ a: HostMatrix, _ b: HostMatrix) throws -> HostMatrix {
        try DeviceMatrix(a, backend: self).timesTransposed(b)
    }
}

@Suite struct ClassMarginalEstimateTests {
    @Test("Cohen's κ: 1 for equal labelings, 0 for independent ones, negative below chance; the warning follows the threshold")
    func kappa() {
        let labels = (0..<400).map { $0 % 4 }
        #expect(abs(ClassMarginalEstimate.kappa(labels, labels, classes: 4) - 1) < 1e-12)
        // Independent: the second labeling cycles with another period.
        let independent = (0..<400).map { ($0 / 4) % 4 }
        #expect(abs(ClassMarginalEstimate.kappa(labels, independent, classes: 4)) < 1e-12)
        // Every label moved to the next class: observed 0, chance 1/4 → κ = −1/3.
        let shifted = labels.map { ($0 + 1) % 4 }
        #expect(abs(ClassMarginalEstimate.kappa(labels, shifted, classes: 4) + 1.0 / 3) < 1e-12)
        let shares = [0.25, 0.25, 0.25, 0.25]
        #expect(ClassMarginalEstimate(shares: shares, zeroShotLabels: labels, adaptedLabels: shifted).warning != nil)
        #expect(ClassMarginalEstimate(shares: shares, zeroShotLabels: labels, adaptedLabels: labels).warning == nil)
    }

    @Test("a class the transport gives no image keeps the text weights, with a warning naming it, and no NaN")
    func emptyClass() throws {
        let labels = try HostMatrix(values: [1, 0, 0, 0, 1, 0, 0, 0, 1], rows: 3, columns: 3)
        #expect(TransportLabels.emptyClasses(labels) == [])
        let missing = try HostMatrix(values: [1, 0, 0, 1, 0, 0, 0.2, 0.8, 0], rows: 3, columns: 3)
        #expect(TransportLabels.emptyClasses(missing) == [2])
        let fixture = try LabelFreeFixture.load()
        let warnings = WarningLog()
        let base = try fixture.context(backend: CPUBackend())
        let context = try AdaptationContext(
            textClassifier: base.textClassifier, logitScale: base.logitScale, pool: base.pool, zeroShotPredictions: base.zeroShotPredictions,
            scoringSample: [], backend: base.backend, seed: 1, warn: { warnings.append($0) })
        let text = try fixture.textMatrix
        let proxies = try HostMatrix(values: [Float](repeating: .nan, count: text.values.count), rows: text.rows, columns: text.columns)
        let kept = try TransportLabels.keepingTextWeights(proxies, for: [3], text: text, method: "m", context: context)
        #expect(Array(kept.row(3)) == Array(text.row(3)))
        #expect(warnings.lines.count == 1 && warnings.lines[0].contains("class 3"))
    }
}

/// Warnings collected by a test.
final class WarningLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
}
