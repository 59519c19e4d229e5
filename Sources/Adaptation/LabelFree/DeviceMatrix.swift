import Compute

/// A host matrix uploaded once to a backend, for the products the label-free methods repeat
/// (thousands of gradient steps over the same pool features). Products larger than a block are
/// computed in row blocks, so no `[rows, classes]` intermediate exceeds `blockRows` rows on the
/// device beyond the one the caller asks for.
struct DeviceMatrix {
    let backend: any TrainingBackend
    /// `[rows, columns]` on the device.
    let tensor: Tensor
    let rows: Int
    let columns: Int

    /// Uploads `matrix`.
    /// - Throws: `ComputeError` when the backend cannot hold it.
    init(_ matrix: HostMatrix, backend: any TrainingBackend) throws {
        self.backend = backend
        rows = matrix.rows
        columns = matrix.columns
        tensor = try backend.upload(matrix.values, shape: [matrix.rows, matrix.columns])
    }

    /// `scale · self · otherᵀ`, `[rows, other.rows]`, for a small `other` `[n, columns]` (class
    /// weights, prototypes).
    func timesTransposed(_ other: HostMatrix, scale: Float = 1) throws -> HostMatrix {
        try requireWidth(other.columns, of: "right factor")
        guard rows > 0, other.rows > 0 else { return try HostMatrix(values: [], rows: rows, columns: other.rows) }
        let right = try backend.upload(other.values, shape: [other.rows, other.columns])
        let output = try backend.makeTensor(shape: [rows, other.rows])
        try backend.matmul(tensor, right, into: output, options: MatmulOptions(transposeB: true, alpha: scale))
        return try HostMatrix(values: try backend.read(output), rows: rows, columns: other.rows)
    }

    /// `queries · selfᵀ`, `[queries.rows, rows]`: the products of a few query rows with every row
    /// of this (large, resident) matrix.
    func products(withRowsOf queries: HostMatrix) throws -> HostMatrix {
        try requireWidth(queries.columns, of: "queries")
        guard rows > 0, queries.rows > 0 else { return try HostMatrix(values: [], rows: queries.rows, columns: rows) }
        let left = try backend.upload(queries.values, shape: [queries.rows, queries.columns])
        let output = try backend.makeTensor(shape: [queries.rows, rows])
        try backend.matmul(left, tensor, into: output, options: MatmulOptions(transposeB: true))
        return try HostMatrix(values: try backend.read(output), rows: queries.rows, columns: rows)
    }

    /// `weightsᵀ · self`, `[weights.columns, columns]`: per column of `weights` `[rows, n]`, the
    /// weighted sum of this matrix's rows (class means, gradients of class weights).
    func transposedTimes(weights: HostMatrix) throws -> HostMatrix {
        guard weights.rows == rows else {
            throw AdaptationError.shapeMismatch(input: "weights", expected: "\(rows) rows", actual: "\(weights.rows) rows")
        }
        guard rows > 0, weights.columns > 0 else {
            return try HostMatrix(values: [Float](repeating: 0, count: weights.columns * columns), rows: weights.columns, columns: columns)
        }
        let left = try backend.upload(weights.values, shape: [weights.rows, weights.columns])
        let output = try backend.makeTensor(shape: [weights.columns, columns])
        try backend.matmul(left, tensor, into: output, options: MatmulOptions(transposeA: true))
        return try HostMatrix(values: try backend.read(output), rows: weights.columns, columns: columns)
    }

    /// Row-wise `softmax(scale · self · otherᵀ)`, `[rows, other.rows]`, computed on the device.
    func softmaxOfProducts(_ other: HostMatrix, scale: Float) throws -> HostMatrix {
        try requireWidth(other.columns, of: "right factor")
        guard rows > 0, other.rows > 0 else { return try HostMatrix(values: [], rows: rows, columns: other.rows) }
        let right = try backend.upload(other.values, shape: [other.rows, other.columns])
        let output = try backend.makeTensor(shape: [rows, other.rows])
        try backend.matmul(tensor, right, into: output, options: MatmulOptions(transposeB: true, alpha: scale))
        try backend.softmaxRows(output, into: output, scale: 1, causalMask: false)
        return try HostMatrix(values: try backend.read(output), rows: rows, columns: other.rows)
    }

    private func requireWidth(_ width: Int, of name: String) throws {
        guard width == columns else {
            throw AdaptationError.shapeMismatch(input: name, expected: "width \(columns)", actual: "width \(width)")
        }
    }
}
