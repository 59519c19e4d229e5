import Compute

/// The `k` nearest keys of every query by cosine similarity (features are unit vectors), best
/// first. The similarities are computed on the device one block of queries at a time against all
/// keys, and only each query's running top `k` is kept: memory grows as `O(queries · k)` plus one
/// `[block, keys]` tile, never `queries × keys`.
struct NeighbourList: Sendable, Equatable {
    /// Neighbours per query.
    let count: Int
    /// `[queries, count]` key positions, best first.
    let indices: [Int32]
    /// `[queries, count]` cosine similarities, matching `indices`.
    let similarities: [Float]

    var queries: Int { count == 0 ? 0 : indices.count / count }

    /// Searches `keys` for each row of `queries`.
    ///
    /// - Parameters:
    ///   - queries: `[queries, dim]`.
    ///   - keys: `[keys, dim]` on the device.
    ///   - count: neighbours per query, at most the number of keys (fewer keys: all of them).
    ///   - excludingSelf: query `i` is key `i` (a search of a set in itself) and is not its own neighbour.
    ///   - tileElements: the largest `[block, keys]` tile computed at once.
    /// - Throws: `AdaptationError.shapeMismatch` for different widths, `ComputeError` from the backend.
    static func search(
        queries: HostMatrix, keys: DeviceMatrix, count requested: Int, excludingSelf: Bool = false, tileElements: Int = 1 << 21
    ) throws -> NeighbourList {
        guard queries.columns == keys.columns else {
            throw AdaptationError.shapeMismatch(input: "neighbour queries", expected: "width \(keys.columns)", actual: "width \(queries.columns)")
        }
        let available = keys.rows - (excludingSelf ? 1 : 0)
        let count = max(0, min(requested, available))
        guard count > 0, queries.rows > 0 else { return NeighbourList(count: count, indices: [], similarities: []) }
        var indices = [Int32](repeating: 0, count: queries.rows * count)
        var similarities = [Float](repeating: -.infinity, count: queries.rows * count)
        let block = max(1, min(queries.rows, tileElements / max(keys.rows, 1)))
        for start in stride(from: 0, to: queries.rows, by: block) {
            let rows = min(block, queries.rows - start)
            let slice = try HostMatrix(
                values: Array(queries.values[(start * queries.columns)..<((start + rows) * queries.columns)]), rows: rows, columns: queries.columns)
            // [rows, keys]: this block's similarities to every key.
            let tile = try keys.products(withRowsOf: slice)
            tile.values.withUnsafeBufferPointer { tileValues in
                indices.withUnsafeMutableBufferPointer { bestIndices in
                    similarities.withUnsafeMutableBufferPointer { bestValues in
                        for row in 0..<rows {
                            let query = start + row, output = query * count
                            let skipped = excludingSelf ? query : -1
                            Self.selectTop(
                                UnsafeBufferPointer(rebasing: tileValues[(row * keys.rows)..<((row + 1) * keys.rows)]), skipping: skipped,
                                values: UnsafeMutableBufferPointer(rebasing: bestValues[output..<(output + count)]),
                                indices: UnsafeMutableBufferPointer(rebasing: bestIndices[output..<(output + count)]))
                        }
                    }
                }
            }
        }
        return NeighbourList(count: count, indices: indices, similarities: similarities)
    }

    /// The `values.count` largest entries of `row` (position `skipping` excluded), best first,
    /// ties to the lower position. `values` must start at −∞.
    private static func selectTop(
        _ row: UnsafeBufferPointer<Float>, skipping: Int, values: UnsafeMutableBufferPointer<Float>, indices: UnsafeMutableBufferPointer<Int32>
    ) {
        let count = values.count
        var worst = -Float.infinity, filled = 0
        for key in 0..<row.count {
            let value = row[key]
            // Most entries fail this test: the loop body is one compare for them.
            guard value > worst || filled < count, key != skipping else { continue }
            var position = min(filled, count - 1)
            while position > 0 && value > values[position - 1] {
                values[position] = values[position - 1]
                indices[position] = indices[position - 1]
                position -= 1
            }
            values[position] = value
            indices[position] = Int32(key)
            filled = min(filled + 1, count)
            if filled == count { worst = values[count - 1] }
        }
    }
}
