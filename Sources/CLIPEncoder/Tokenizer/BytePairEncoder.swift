import Foundation

/// Applies byte-pair merges to one pre-token, with a cache of results.
///
/// A pre-token's UTF-8 bytes start as one symbol each (the last one word-final, with `</w>`);
/// then, repeatedly, the adjacent pair with the lowest merge rank is found and every
/// non-overlapping occurrence of it, left to right, is replaced by the merged symbol, until no
/// adjacent pair has a rule.
struct BytePairEncoder: Sendable {
    let vocabulary: BytePairVocabulary
    private let cache = BytePairCache(capacity: 65_536)

    init(vocabulary: BytePairVocabulary) {
        self.vocabulary = vocabulary
    }

    /// Appends the token ids of one pre-token, given as UTF-8 bytes, to `output`.
    func encode(bytes: [UInt8], into output: inout [Int32]) {
        if let cached = cache.lookup(bytes) {
            output += cached
            return
        }
        let ids = merge(bytes)
        cache.store(bytes, ids)
        output += ids
    }

    private func merge(_ bytes: [UInt8]) -> [Int32] {
        guard let last = bytes.last else { return [] }
        var word = bytes.dropLast().map { vocabulary.byteTokenIds[Int($0)] }
        word.append(vocabulary.byteEndTokenIds[Int(last)])
        let merges = vocabulary.merges
        while word.count > 1 {
            // The adjacent pair with the lowest rank.
            var best: BytePairVocabulary.Merge?
            var bestFirst: Int32 = 0
            var bestSecond: Int32 = 0
            for index in 0..<(word.count - 1) {
                if let rule = merges[BytePairVocabulary.pairKey(word[index], word[index + 1])],
                    rule.rank < (best?.rank ?? .max)
                {
                    best = rule
                    bestFirst = word[index]
                    bestSecond = word[index + 1]
                }
            }
            guard let rule = best else { break }
            var merged: [Int32] = []
            merged.reserveCapacity(word.count - 1)
            var index = 0
            while index < word.count {
                if index + 1 < word.count, word[index] == bestFirst, word[index + 1] == bestSecond {
                    merged.append(rule.merged)
                    index += 2
                } else {
                    merged.append(word[index])
                    index += 1
                }
            }
            word = merged
        }
        return word
    }
}

/// A bounded, thread-safe map from pre-token bytes to token ids.
///
/// Keys are bytes, not `String`s, because `String` equality is canonical equivalence and two
/// different byte sequences (`é` and `e` + U+0301) must not share an entry.
final class BytePairCache: @unchecked Sendable {
    // @unchecked Sendable: every access to `entries` holds `lock`.
    private let lock = NSLock()
    private var entries: [[UInt8]: [Int32]] = [:]
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func lookup(_ key: [UInt8]) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[key]
    }

    func store(_ key: [UInt8], _ value: [Int32]) {
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[key] = value
    }
}
