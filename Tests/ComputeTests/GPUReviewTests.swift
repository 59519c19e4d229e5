import Compute
import Foundation
import Testing

/// Regression checks for the findings of the OpenCL review for real GPUs (GPU-REVIEW.md), run on
/// whatever OpenCL device is present (PoCL in CI), each against the plain-loop twin.
@Suite("OpenCL review for GPUs: flattened row launches, K = 0, bounded event lists")
struct GPUReviewTests {
    private func compare(_ actual: [Float], _ expected: [Float], _ label: String) {
        let comparison = Comparison(actual: actual, expected: expected, absoluteTolerance: 1e-5, relativeTolerance: 1e-5)
        #expect(comparison.passed, "\(label): \(comparison)")
    }

    @Test("Row copies, gathers and convolution patches over more rows than a GPU grid's 65 535 groups in dimension 1")
    func manyRows() throws {
        guard let backend = try openCLBackendForTesting() else { return }
        let reference = ReferenceBackend()
        var generator = SeededGenerator(seed: 23)
        let rows = 70_001, width = 3
        let table = generator.uniform(count: rows * width)
        let indices = (0..<rows).map { _ in Int32.random(in: 0..<Int32(rows), using: &generator) }

        for (name, run) in [
            ("gatherRows", { (b: any Backend) throws -> [Float] in
                let y = try b.makeTensor(shape: [rows, width])
                try b.fill(y, with: .nan)
                try b.gatherRows(try b.upload(table, shape: [rows, width]), indices: indices, into: y)
                return try b.read(y)
            }),
            ("copyRows", { (b: any Backend) throws -> [Float] in
                guard let training = b as? any TrainingBackend else { return [] }
                let y = try b.makeTensor(shape: [rows - 1, width])
                try b.fill(y, with: .nan)
                try training.copyRows(try b.upload(table, shape: [rows, width]), from: 1, into: y)
                return try b.read(y)
            }),
            ("gatherRows (indexed, on the device)", { (b: any Backend) throws -> [Float] in
                guard let training = b as? any TrainingBackend else { return [] }
                let y = try b.makeTensor(shape: [rows - 2, width])
                try b.fill(y, with: .nan)
                try training.gatherRows(try b.upload(table, shape: [rows, width]), indices: try b.upload(indices.map { Float($0) }, shape: [rows]),
                                        from: 2, into: y)
                return try b.read(y)
            }),
            ("convolutionPatches", { (b: any Backend) throws -> [Float] in
                // [1, 300, 250, 2] with a 3 × 3 kernel, stride 1, padding 1: 75 000 output pixels.
                let x = try b.upload(Array(table.prefix(300 * 250 * 2)), shape: [1, 300, 250, 2])
                let y = try b.makeTensor(shape: [1, 300, 250, 18])
                try b.fill(y, with: .nan)
                try b.convolutionPatches(x, kernelSize: 3, stride: 1, padding: 1, into: y)
                return try b.read(y)
            }),
        ] {
            let expected = try run(reference), actual = try run(backend)
            #expect(!expected.isEmpty)
            compare(actual, expected, name)
        }
    }

    @Test("A product with K = 0 is β·C + bias, then the activation, with every matmul kernel")
    func emptyInnerDimension() throws {
        guard try openCLBackendForTesting() != nil else { return }
        var generator = SeededGenerator(seed: 29)
        let initial = generator.uniform(count: 5 * 7), bias = generator.uniform(count: 7)
        let options = MatmulOptions(beta: 0.5, activation: .relu)
        func product(_ b: any Backend) throws -> [Float] {
            let c = try b.upload(initial, shape: [5, 7])
            try b.matmul(try b.makeTensor(shape: [5, 0]), try b.makeTensor(shape: [0, 7]), bias: try b.upload(bias, shape: [7]),
                         into: c, options: options)
            return try b.read(c)
        }
        let expected = try product(ReferenceBackend())
        for variant in MatmulVariant.allCases {
            let backend = try OpenCLBackend(deviceIndex: 0, consultTuningRecord: false, matmulChoice: MatmulChoice(variant: variant))
            compare(try product(backend), expected, "K = 0, \(variant)")
        }
    }

    @Test("Timing many launches keeps every launch's device time while the event list stays bounded")
    func manyTimedLaunches() throws {
        guard try openCLBackendForTesting() != nil else { return }
        let backend = try OpenCLBackend(deviceIndex: 0, consultTuningRecord: false)
        let tensor = try backend.makeTensor(shape: [16])
        backend.collectsKernelTimes = true
        let launches = 4096 + 4096 / 2 + 3  // more than one fold of the pending events
        for index in 0..<launches { try backend.fill(tensor, with: Float(index)) }
        let times = try backend.kernelTimes()
        #expect(times.first { $0.kernel == "fill_value" }?.calls == launches)
        #expect(try backend.read(tensor) == [Float](repeating: Float(launches - 1), count: 16))
    }
}
