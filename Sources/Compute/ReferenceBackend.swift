import Foundation

/// Plain-loop implementations of every operation: the "CPU twin" each kernel and each fast
/// path is tested against. Written for clarity, not speed; accumulation is in `Double` where a
/// long sum would otherwise lose precision, so the twin is the more accurate side of a comparison.
/// Each family's loops live in its file in `Operations/`.
public enum ReferenceOps {}

/// The plain-loop twin as a backend of its own (`--device cpu-reference`): host memory
/// (`HostBackend`), and every operation run by `ReferenceOps`. `kernels check` and the tests
/// compare every other backend and kernel variant with it.
public final class ReferenceBackend: HostBackend {
    public let launchHook = LaunchHook()

    public init() {}

    public var name: String { "cpu-reference" }

    public var deviceDescription: String { "CPU plain-loop reference" }
}
