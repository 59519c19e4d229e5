/// Host memory for `CPUBackend` and `ReferenceBackend` tensors.
final class CPUStorage: TensorStorage, @unchecked Sendable {
    // @unchecked: the pointer is written only through backend operations, whose callers
    // order their own reads and writes, as with device memory.
    let pointer: UnsafeMutablePointer<Float>
    let capacity: Int
    let owner: ObjectIdentifier

    init(capacity: Int, owner: ObjectIdentifier) {
        self.pointer = .allocate(capacity: max(capacity, 1))
        self.capacity = capacity
        self.owner = owner
    }

    deinit { pointer.deallocate() }
}

/// The host memory of one tensor on a `HostBackend`.
typealias HostPointer = UnsafeMutablePointer<Float>

/// A backend whose tensors live in host memory (`CPUStorage`): the memory code that
/// `CPUBackend` and `ReferenceBackend` share, and their launch hook. A conforming backend writes
/// its operations only, each inside `measured`; it may replace any of these (`CPUBackend` spreads
/// large copies over the cores).
public protocol HostBackend: Backend {
    /// Where the operations report their times (see `profile`).
    var launchHook: LaunchHook { get }
}

extension HostBackend {
    /// The profile every operation reports its time to (`nil`, the default: none).
    public var profile: OperationProfile? {
        get { launchHook.profile }
        set { launchHook.profile = newValue }
    }

    /// Runs `body`, reporting its time under `operation` to the profile when there is one.
    func measured<Result>(_ operation: @autoclosure () -> String, _ body: () throws -> Result) rethrows -> Result {
        try launchHook.measured(operation(), body)
    }

    public func makeTensor(shape: [Int]) throws -> Tensor {
        try measured("allocate") { try allocate(shape: shape) }
    }

    private func allocate(shape: [Int]) throws -> Tensor {
        let count = shape.elementCount
        guard count >= 0, count < Int.max / 8 else {
            throw ComputeError.allocationFailed(bytes: count &* 4, device: name, reason: "size out of range")
        }
        return try Tensor(shape: shape, storage: CPUStorage(capacity: count, owner: ObjectIdentifier(self)))
    }

    /// The host memory of `tensor`, checked to belong to this backend.
    /// - Throws: `ComputeError.foreignTensor` naming `operation` and the tensor's role `name`.
    func storage(_ tensor: Tensor, _ operation: String, _ name: String) throws -> UnsafeMutablePointer<Float> {
        guard let storage = tensor.storage as? CPUStorage, storage.owner == ObjectIdentifier(self) else {
            throw ComputeError.foreignTensor(operation: operation, tensor: name, backend: self.name)
        }
        return storage.pointer
    }

    public func write(_ values: [Float], to tensor: Tensor) throws {
        try measured("write (host → device)") { try writeValues(values, to: tensor) }
    }

    public func uploadConstant(_ values: [Float], shape: [Int]) throws -> Tensor {
        try measured("write (host → device)") { try upload(values, shape: shape) }
    }

    private func writeValues(_ values: [Float], to tensor: Tensor) throws {
        guard values.count == tensor.count else {
            throw ComputeError.shapeMismatch(operation: "write", tensor: "destination", expected: "\(values.count) elements", actual: tensor.shape)
        }
        let pointer = try storage(tensor, "write", "destination")
        guard !values.isEmpty else { return }
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    public func read(_ tensor: Tensor) throws -> [Float] {
        try measured("read (device → host)") {
            let pointer = try storage(tensor, "read", "source")
            return Array(UnsafeBufferPointer(start: pointer, count: tensor.count))
        }
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try measured("copy") {
            try requireSameCount(source, destination, operation: "copy")
            let from = try storage(source, "copy", "source"), to = try storage(destination, "copy", "destination")
            to.update(from: from, count: source.count)
        }
    }

    public func fill(_ tensor: Tensor, with value: Float) throws {
        try measured("fill") { try storage(tensor, "fill", "tensor").update(repeating: value, count: tensor.count) }
    }

    public func synchronize() throws {}
}
