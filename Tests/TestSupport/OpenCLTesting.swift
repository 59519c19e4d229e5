import Compute
import Foundation
import Testing

/// The OpenCL device of the tests, with the CI rule: where the environment sets `CI` (as
/// `.ci/run` does, with PoCL installed) a missing OpenCL device is a test failure; elsewhere the
/// OpenCL cases are skipped with a visible note, and the CPU paths still run.
public enum OpenCLTesting {
    /// Whether the CI rule is in force: `CI` is set to anything but empty, `0` or `false`.
    public static var isCI: Bool {
        guard let value = ProcessInfo.processInfo.environment["CI"] else { return false }
        return !["", "0", "false"].contains(value.lowercased())
    }

    /// Whether an OpenCL device is present. Where none is, records a failure under the CI rule,
    /// else prints that `what` is skipped.
    /// - Parameter what: the tests skipped without a device, named in the note.
    /// - Throws: `ComputeError` when discovery itself fails.
    public static func deviceIsPresent(skipping what: String = "OpenCL tests", sourceLocation: SourceLocation = #_sourceLocation) throws -> Bool {
        if try !OpenCLDiscovery.devices().isEmpty { return true }
        if isCI {
            Issue.record("CI is set but no OpenCL device was found: install pocl-opencl-icd", sourceLocation: sourceLocation)
        } else {
            print("note: no OpenCL device found; \(what) skipped (install pocl-opencl-icd to run them)")
        }
        return false
    }

    /// The OpenCL backend of device 0, one for the whole test process (programs are built once),
    /// or `nil` where no device is present (see `deviceIsPresent`).
    /// - Throws: `ComputeError` when discovery fails or a present device does not open.
    public static func backend(skipping what: String = "OpenCL tests", sourceLocation: SourceLocation = #_sourceLocation) throws -> OpenCLBackend? {
        guard try deviceIsPresent(skipping: what, sourceLocation: sourceLocation) else { return nil }
        return try sharedBackend.get()
    }
}

/// One OpenCL backend for the whole test process.
private let sharedBackend: Result<OpenCLBackend, Error> = Result { try OpenCLBackend(deviceIndex: 0) }
