import Compute
import Foundation
import Testing

/// The operations against PyTorch outputs written by `scripts/make_compute_fixtures.py`.
@Suite("Operations against PyTorch fixtures")
struct ReferenceFixtureTests {
    struct Fixture: Decodable {
        struct Array: Decodable {
            let shape: [Int]
            let values: [Double]
            var floats: [Float] { values.map(Float.init) }
        }
        struct Case: Decodable {
            let name: String
            let operation: String
            let params: [String: Param]
            let inputs: [Array]
            let output: Array
        }
        enum Param: Decodable {
            case bool(Bool), number(Double)
            init(from decoder: Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let value = try? container.decode(Bool.self) { self = .bool(value) } else { self = .number(try container.decode(Double.self)) }
            }
            var bool: Bool { if case .bool(let value) = self { return value }; return false }
            var number: Float { if case .number(let value) = self { return Float(value) }; return 0 }
        }
        let cases: [Case]
    }

    static let fixture: Fixture? = {
        guard let data = try? Data(contentsOf: fixturesDirectory.appendingPathComponent("reference_ops.json")) else { return nil }
        return try? JSONDecoder().decode(Fixture.self, from: data)
    }()

    @Test("Twin, CPU fast path and OpenCL reproduce PyTorch")
    func reproducesPyTorch() throws {
        let fixture = try #require(Self.fixture, "Tests/ComputeTests/Fixtures/reference_ops.json is missing or malformed")
        #expect(fixture.cases.count >= 10)
        let backends: [any Backend] = [ReferenceBackend()] + (try backendsForTesting())
        for backend in backends {
            for testCase in fixture.cases {
                let output = try run(testCase, on: backend)
                let comparison = Comparison(actual: output, expected: testCase.output.floats, absoluteTolerance: 1e-5, relativeTolerance: 1e-4)
                #expect(comparison.passed, "\(backend.name) \(testCase.name): \(comparison)")
            }
        }
    }

    private func run(_ testCase: Fixture.Case, on backend: any Backend) throws -> [Float] {
        let inputs = try testCase.inputs.map { try backend.upload($0.floats, shape: $0.shape) }
        let output = try backend.makeTensor(shape: testCase.output.shape)
        try backend.fill(output, with: .nan)
        let param = { (name: String) in testCase.params[name] }
        switch testCase.operation {
        case "matmul":
            let options = MatmulOptions(transposeA: param("transposeA")?.bool ?? false, transposeB: param("transposeB")?.bool ?? false)
            try backend.matmul(inputs[0], inputs[1], bias: inputs.count > 2 ? inputs[2] : nil, into: output, options: options)
        case "softmax":
            try backend.softmaxRows(inputs[0], into: output, scale: param("scale")?.number ?? 1, causalMask: param("causal")?.bool ?? false)
        case "layerNorm":
            try backend.layerNorm(inputs[0], weight: inputs[1], bias: inputs[2], epsilon: param("epsilon")?.number ?? 1e-5, into: output)
        case "l2Normalize":
            try backend.l2NormalizeRows(inputs[0], into: output)
        case "cosineSimilarity":
            try backend.cosineSimilarity(inputs[0], inputs[1], into: output)
        case "quickGELU":
            try backend.activation(.quickGELU, inputs[0], into: output)
        case "gelu":
            try backend.activation(.gelu, inputs[0], into: output)
        default:
            Issue.record("unknown operation \(testCase.operation) in fixture")
        }
        return try backend.read(output)
    }
}
