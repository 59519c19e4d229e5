import Compute
import Foundation
import TestSupport
import Testing

/// Backends every test runs on, and helpers shared by the test files.
enum TestBackends {
    /// The plain-loop twin every other implementation is compared with.
    static let reference = ReferenceBackend()

    /// The first OpenCL device, or nil where none is installed (then only the CPU paths run;
    /// under CI a missing device fails the test: `OpenCLTesting`).
    static var openCL: OpenCLBackend? {
        get throws { try OpenCLTesting.backend(skipping: "the trainer's OpenCL cases") }
    }

    /// The implementations under test: CPU fast path and, when present, OpenCL.
    static var underTest: [any TrainingBackend] {
        get throws { [CPUBackend()] + (try openCL.map { [$0] } ?? []) }
    }

    /// Every backend including the twin.
    static var all: [any TrainingBackend] {
        get throws { [reference] + (try underTest) }
    }
}

/// The directory of fixture files next to the test sources.
func fixtureURL(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
}

/// A tensor on `backend` with every element NaN, so that an output element an operation forgets
/// to write shows up as a mismatch.
func poisoned(_ backend: any Backend, shape: [Int]) throws -> Tensor {
    let tensor = try backend.makeTensor(shape: shape)
    try backend.fill(tensor, with: .nan)
    return tensor
}

/// Records the comparison and fails the test when it does not pass.
func expectClose(
    _ actual: [Float], _ expected: [Float], absolute: Float, relative: Float, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let comparison = Comparison(actual: actual, expected: expected, absoluteTolerance: absolute, relativeTolerance: relative)
    if ProcessInfo.processInfo.environment["UPADAPTER_SHOW_COMPARISONS"] != nil { print("CMP \(label): \(comparison)") }
    #expect(comparison.passed, "\(label): \(comparison)", sourceLocation: sourceLocation)
}
