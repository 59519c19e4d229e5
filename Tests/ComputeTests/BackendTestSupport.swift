import Compute
import Foundation
import TestSupport
import Testing

/// The OpenCL backend under test, or `nil` with a visible note when this machine has no OpenCL
/// device; under CI a missing device is a failure (`OpenCLTesting`).
func openCLBackendForTesting(sourceLocation: SourceLocation = #_sourceLocation) throws -> OpenCLBackend? {
    try OpenCLTesting.backend(sourceLocation: sourceLocation)
}

/// Every backend to test: the CPU fast path and, where present, OpenCL.
func backendsForTesting() throws -> [any Backend] {
    var backends: [any Backend] = [CPUBackend()]
    if let openCL = try openCLBackendForTesting() { backends.append(openCL) }
    return backends
}

/// The folder of this test target's fixtures.
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// Held while a test runs the C row passes under each build in turn: the build is one
/// process-wide choice, and the suites that switch it (`FastExpTests`, `FastGELUTests`) run in
/// parallel with each other.
private let vectorMathBuildLock = NSLock()

/// Runs `body` with each build of the C row passes the processor has (baseline, then AVX2 + FMA),
/// one caller at a time, then restores the default.
func withEachVectorMathBuild(_ body: (VectorMath.Build) throws -> Void) rethrows {
    vectorMathBuildLock.lock()
    defer { vectorMathBuildLock.unlock() }
    let original = VectorMath.build
    defer { VectorMath.select(original) }
    for build in VectorMath.Build.allCases where VectorMath.select(build) == build { try body(build) }
}

/// Units in the last place between `value` and the correctly rounded `reference`.
func ulps(_ value: Float, _ reference: Float) -> Float {
    abs(value - reference) / reference.ulp
}
