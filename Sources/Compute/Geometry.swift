/// Shape checks shared by every backend, so that both reject the same inputs with the same
/// messages and agree on how leading dimensions are flattened.

/// Splits a tensor into rows over its last dimension.
func rowsAndWidth(_ tensor: Tensor, operation: String, name: String) throws -> (rows: Int, width: Int) {
    guard let width = tensor.shape.last, width > 0 else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: name, expected: "at least 1 dimension of size ≥ 1", actual: tensor.shape)
    }
    return (tensor.count / width, width)
}

func requireSameCount(_ x: Tensor, _ y: Tensor, operation: String) throws {
    guard x.count == y.count else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "output", expected: "\(x.count) elements like the input \(x.shape)", actual: y.shape)
    }
}

