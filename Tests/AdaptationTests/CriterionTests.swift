import Adaptation
import Compute
import Foundation
import Testing

/// The label-free criteria on probabilities whose scores are known in closed form.
@Suite struct CriterionTests {
    static func matrix(_ rows: [[Float]]) throws -> HostMatrix {
        try HostMatrix(values: rows.flatMap { $0 }, rows: rows.count, columns: rows.first?.count ?? 0)
    }

    static func oneHot(_ labels: [Int], classes: Int) -> [[Float]] {
        labels.map { label in (0..<classes).map { $0 == label ? 1 : 0 } }
    }

    @Test("information maximisation: log C for confident balanced predictions, 0 for collapsed or uniform ones")
    func informationMaximization() throws {
        let classes = 5
        let balanced = try Self.matrix(Self.oneHot((0..<40).map { $0 % classes }, classes: classes))
        #expect(abs(CriterionScores.informationMaximization(balanced) - log(Double(classes))) < 1e-9)
        let collapsed = try Self.matrix(Self.oneHot(Array(repeating: 2, count: 40), classes: classes))
        #expect(abs(CriterionScores.informationMaximization(collapsed)) < 1e-9)
        let uniform = try Self.matrix(Array(repeating: Array(repeating: 1 / Float(classes), count: classes), count: 40))
        #expect(abs(CriterionScores.informationMaximization(uniform)) < 1e-6)
        // Half the images confident in class 0, half uniform: H(p̄) − ½ log C, by hand.
        let mixed = try Self.matrix(Self.oneHot(Array(repeating: 0, count: 10), classes: 2) + Array(repeating: [0.5, 0.5], count: 10))
        let mean = [0.75, 0.25]
        let expected = -mean.map { $0 * log($0) }.reduce(0, +) - 0.5 * log(2)
        #expect(abs(CriterionScores.informationMaximization(mixed) - expected) < 1e-6)
    }

    @Test("soft neighbourhood density: log(m − 1) for tight clusters of m, log(n − 1) for a collapsed set")
    func softNeighbourhoodDensity() throws {
        let classes = 4, perCluster = 6
        let clusters = try Self.matrix(Self.oneHot((0..<(classes * perCluster)).map { $0 / perCluster }, classes: classes))
        // Same-cluster similarity 1/0.05 = 20, others 0: the softmax is all but uniform on the m − 1 neighbours.
        #expect(abs(CriterionScores.softNeighbourhoodDensity(clusters) - log(Double(perCluster - 1))) < 1e-6)
        let collapsed = try Self.matrix(Self.oneHot(Array(repeating: 1, count: 24), classes: classes))
        #expect(abs(CriterionScores.softNeighbourhoodDensity(collapsed) - log(23.0)) < 1e-9)
    }

    @Test("view agreement: 1 for identical confident views, 1/C for uniform ones, 0 for disagreeing ones")
    func viewAgreement() throws {
        let base = try Self.matrix(Self.oneHot([0, 1, 2, 0], classes: 3))
        #expect(abs(CriterionScores.viewAgreement(base, base) - 1) < 1e-12)
        let uniform = try Self.matrix(Array(repeating: [Float(1) / 3, Float(1) / 3, Float(1) / 3], count: 4))
        #expect(abs(CriterionScores.viewAgreement(base, uniform) - 1.0 / 3) < 1e-6)
        let shifted = try Self.matrix(Self.oneHot([1, 2, 0, 1], classes: 3))
        #expect(CriterionScores.viewAgreement(base, shifted) == 0)
    }

    @Test("softmax rows sum to one and refuse non-finite logits")
    func softmax() throws {
        let logits = try Self.matrix([[1, 2, 3], [-1000, 0, 1000]])
        let probabilities = try ClassProbabilities.softmax(logits)
        let expected = [exp(1.0), exp(2.0), exp(3.0)].map { $0 / (exp(1.0) + exp(2.0) + exp(3.0)) }
        for column in 0..<3 { #expect(abs(Double(probabilities.values[column]) - expected[column]) < 1e-6) }
        #expect(probabilities.values[5] == 1)
        #expect(throws: AdaptationError.nonFinite(what: "logit of row 0, class 1")) {
            try ClassProbabilities.softmax(try Self.matrix([[0, .nan]]))
        }
    }
}
