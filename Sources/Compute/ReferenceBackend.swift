import Foundation

/// Plain-loop implementations of every operation: the "CPU twin" each kernel and each fast
/// path is tested against. Written for clarity, not speed; accumulation is in `Double` where a
/// long sum would otherwise lose precision, so the twin is the more accurate side of a comparison.
/// Each family's loops live in its file in `Operations/`.
public enum ReferenceOps {}

/// The plain-loop twin as a backend of its own (`--device cpu-reference`): host memory, and every
/// operation run by `ReferenceOps`. `kernels check` and the tests compare every other backend
/// and kernel variant with it.
public final class ReferenceBackend: Backend {
    public init() {}

    public var name: String { "cpu-reference" }

    public var deviceDescription: String { "CPU plain-loop reference" }

    // MARK: Memory

    public func makeTensor(shape: [Int]) throws -> Tensor {
        let count = shape.elementCount
        guard count >= 0, count < Int.max / 8 else {
            throw ComputeError.allocationFailed(bytes: count &* 4, device: name, reason: "size out of range")
        }
        return try Tensor(shape: shape, storage: CPUStorage(capacity: count, owner: ObjectIdentifier(self)))
    }

    func storage(_ tensor: Tensor, _ operation: String, _ name: String) throws -> UnsafeMutablePointer<Float> {
        guard let storage = tensor.storage as? CPUStorage, storage.owner == ObjectIdentifier(self) else {
            throw ComputeError.foreignTensor(operation: operation, tensor: name, backend: self.name)
        }
        return storage.pointer
    }

    public func write(_ values: [Float], to tensor: Tensor) throws {
        guard values.count == tensor.count else {
            throw ComputeError.shapeMismatch(operation: "write", tensor: "destination", expected: "\(values.count) elements", actual: tensor.shape)
        }
        let pointer = try storage(tensor, "write", "destination")
        for (index, value) in values.enumerated() { pointer[index] = value }
    }

    public func read(_ tensor: Tensor) throws -> [Float] {
        let pointer = try storage(tensor, "read", "source")
        return (0..<tensor.count).map { pointer[$0] }
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try requireSameCount(source, destination, operation: "copy")
        let from = try storage(source, "copy", "source"), to = try storage(destination, "copy", "destination")
        for index in 0..<source.count { to[index] = from[index] }
    }

    public func fill(_ tensor: Tensor, with value: Float) throws {
        let pointer = try storage(tensor, "fill", "tensor")
        for index in 0..<tensor.count { pointer[index] = value }
    }

    public func synchronize() throws {}
}
