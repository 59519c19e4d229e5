/// The known key closest to `key` when it is close enough to be a likely typo: at most
/// max(2, length / 3) edits (insertions, deletions, substitutions, swaps of neighbours), or
/// equal ignoring case, `_` and `-`.
func suggestKey(for key: String, sameSection candidates: [String]) -> String? {
    func folded(_ text: String) -> String { text.lowercased().filter { $0 != "_" && $0 != "-" } }
    if let match = candidates.first(where: { folded($0) == folded(key) }) { return match }
    let limit = max(2, key.count / 3)
    let scored = candidates.map { ($0, editDistance(key, $0)) }.filter { $0.1 <= limit }
    return scored.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }?.0
}

/// The optimal-string-alignment distance between two strings (Levenshtein plus swaps of
/// adjacent characters).
func editDistance(_ lhs: String, _ rhs: String) -> Int {
    let a = Array(lhs), b = Array(rhs)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { table[i][0] = i }
    for j in 0...b.count { table[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            var best = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                best = min(best, table[i - 2][j - 2] + 1)
            }
            table[i][j] = best
        }
    }
    return table[a.count][b.count]
}
