/// A sparse symmetric weight matrix in compressed rows (CSR), with the products and the
/// conjugate-gradient solve the graph methods need. Built from neighbour lists, so its memory is
/// `O(nodes · neighbours)`.
struct SparseGraph: Sendable {
    let nodes: Int
    /// `[nodes + 1]` start of each row in `columns` / `weights`.
    let rowStarts: [Int]
    let columns: [Int32]
    let weights: [Float]

    /// `W + Wᵀ` of the directed edges `(row, column, weight)`, without self-loops; repeated edges add up.
    init(nodes: Int, edges: [(row: Int32, column: Int32, weight: Float)]) {
        var counts = [Int](repeating: 0, count: nodes + 1)
        for edge in edges where edge.row != edge.column {
            counts[Int(edge.row) + 1] += 1
            counts[Int(edge.column) + 1] += 1
        }
        for index in 1..<counts.count { counts[index] += counts[index - 1] }
        var next = Array(counts.dropLast())
        var columns = [Int32](repeating: 0, count: counts[nodes])
        var weights = [Float](repeating: 0, count: counts[nodes])
        for edge in edges where edge.row != edge.column {
            for (from, to) in [(edge.row, edge.column), (edge.column, edge.row)] {
                columns[next[Int(from)]] = to
                weights[next[Int(from)]] = edge.weight
                next[Int(from)] += 1
            }
        }
        self.nodes = nodes
        self.rowStarts = counts
        self.columns = columns
        self.weights = weights
    }

    private init(nodes: Int, rowStarts: [Int], columns: [Int32], weights: [Float]) {
        self.nodes = nodes
        self.rowStarts = rowStarts
        self.columns = columns
        self.weights = weights
    }

    /// `D^{-1/2} W D^{-1/2}` with `D` the row sums (rows that sum to 0 keep 0).
    func symmetricallyNormalized() -> SparseGraph {
        var inverseRoots = [Double](repeating: 0, count: nodes)
        for row in 0..<nodes {
            var sum = 0.0
            for entry in rowStarts[row]..<rowStarts[row + 1] { sum += Double(weights[entry]) }
            inverseRoots[row] = sum > 0 ? 1 / sum.squareRoot() : 0
        }
        var scaled = weights
        for row in 0..<nodes {
            for entry in rowStarts[row]..<rowStarts[row + 1] {
                scaled[entry] = Float(Double(weights[entry]) * inverseRoots[row] * inverseRoots[Int(columns[entry])])
            }
        }
        return SparseGraph(nodes: nodes, rowStarts: rowStarts, columns: columns, weights: scaled)
    }

    /// `W · x` for `x` `[nodes, width]` row-major.
    func times(_ x: [Double], width: Int) -> [Double] {
        var result = [Double](repeating: 0, count: nodes * width)
        x.withUnsafeBufferPointer { input in
            result.withUnsafeMutableBufferPointer { output in
                for row in 0..<nodes {
                    let target = row * width
                    for entry in rowStarts[row]..<rowStarts[row + 1] {
                        let weight = Double(weights[entry]), source = Int(columns[entry]) * width
                        for column in 0..<width { output[target + column] += weight * input[source + column] }
                    }
                }
            }
        }
        return result
    }

    /// Solves `(I − α W) f = b` for each of the `width` columns of `b` `[nodes, width]` by conjugate
    /// gradient (the matrix is symmetric positive definite for a normalised `W` and `α < 1`),
    /// stopping a column when its residual norm falls below `tolerance · ‖b‖` or after
    /// `maximumIterations`.
    func solveShifted(alpha: Double, rightHandSides b: [Double], width: Int, tolerance: Double = 1e-6, maximumIterations: Int = 50) -> [Double] {
        func apply(_ x: [Double]) -> [Double] {
            let product = times(x, width: width)
            return (0..<x.count).map { x[$0] - alpha * product[$0] }
        }
        var solution = [Double](repeating: 0, count: nodes * width)
        var residual = b, direction = b
        func columnDots(_ u: [Double], _ v: [Double]) -> [Double] {
            var sums = [Double](repeating: 0, count: width)
            for index in u.indices { sums[index % width] += u[index] * v[index] }
            return sums
        }
        var residualNorms = columnDots(residual, residual)
        let limits = columnDots(b, b).map { $0.squareRoot() * tolerance }
        var active = (0..<width).map { residualNorms[$0].squareRoot() > limits[$0] }
        for _ in 0..<maximumIterations where active.contains(true) {
            let product = apply(direction)
            let curvature = columnDots(direction, product)
            let steps = (0..<width).map { active[$0] && curvature[$0] > 0 ? residualNorms[$0] / curvature[$0] : 0 }
            for index in solution.indices {
                let column = index % width
                solution[index] += steps[column] * direction[index]
                residual[index] -= steps[column] * product[index]
            }
            let updated = columnDots(residual, residual)
            let ratios = (0..<width).map { residualNorms[$0] > 0 ? updated[$0] / residualNorms[$0] : 0 }
            for index in direction.indices { direction[index] = residual[index] + ratios[index % width] * direction[index] }
            residualNorms = updated
            for column in 0..<width where active[column] && updated[column].squareRoot() <= limits[column] { active[column] = false }
        }
        return solution
    }
}
