/// Device memory owned by a backend. A storage may hold more elements than the tensor that
/// views it, so that a buffer allocated for the largest batch is reused by smaller ones.
public protocol TensorStorage: AnyObject, Sendable {
    /// Number of `Float` elements the storage holds.
    var capacity: Int { get }
    /// The backend that allocated this storage.
    var owner: ObjectIdentifier { get }
}

/// A dense, row-major float32 tensor whose elements live in a backend's memory.
///
/// A tensor is a shape plus a reference to storage; reshaping and viewing a prefix are free.
/// Element `[i0, i1, ..., in]` is at offset `((i0 · d1 + i1) · d2 + ...) + in`.
public struct Tensor: Sendable {
    /// Dimensions, outermost first, e.g. `[batch, tokens, width]`.
    public let shape: [Int]
    /// The memory that holds the elements (at least `count` of them).
    public let storage: any TensorStorage

    /// Wraps `storage` with `shape`.
    /// - Throws: `ComputeError.invalidArgument` when the shape needs more elements than the
    ///   storage holds or has a negative dimension.
    public init(shape: [Int], storage: any TensorStorage) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw ComputeError.invalidArgument(operation: "Tensor", message: "negative dimension in \(shape)")
        }
        let count = shape.reduce(1, *)
        guard count <= storage.capacity else {
            throw ComputeError.invalidArgument(
                operation: "Tensor",
                message: "shape \(shape) needs \(count) elements, storage holds \(storage.capacity)")
        }
        self.shape = shape
        self.storage = storage
    }

    /// Number of elements, the product of `shape`.
    public var count: Int { shape.reduce(1, *) }

    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// The same elements under another shape with the same element count.
    /// - Throws: `ComputeError.shapeMismatch` when the counts differ.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard newShape.reduce(1, *) == count else {
            throw ComputeError.shapeMismatch(
                operation: "reshape", tensor: "tensor", expected: "\(count) elements", actual: newShape)
        }
        return try Tensor(shape: newShape, storage: storage)
    }

    /// A view of the first elements of the storage with `shape` (which may hold fewer elements
    /// than this tensor): used to run a smaller batch in buffers sized for the largest.
    /// - Throws: `ComputeError.invalidArgument` when the storage is too small.
    public func prefix(shape newShape: [Int]) throws -> Tensor {
        try Tensor(shape: newShape, storage: storage)
    }
}

extension Array where Element == Int {
    /// Product of the elements (1 for an empty array).
    var elementCount: Int { reduce(1, *) }
}
