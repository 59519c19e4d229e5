/// Splits cleaned text into the pieces BPE works on, as CLIP's pattern does.
///
/// The pattern, tried at each position in this order (case-insensitive):
/// `<|startoftext|>`, `<|endoftext|>`, the contractions `'s 't 're 've 'm 'll 'd`, a run of
/// letters (`\p{L}+`), one number character (`\p{N}`), a run of characters that are neither
/// whitespace, letters nor numbers. Whitespace between pieces is dropped. Classes follow
/// Unicode general categories and the White_Space property, as Python's `regex` module does;
/// its case-insensitive matching also lets `ſ` (U+017F) stand for `s`, and leaves U+0345
/// (which case-folds to a letter) matched by no class, so it is dropped like whitespace.
/// A special token's spelling is its own piece; only the exact spelling becomes the special id.
enum PreTokenizer {
    /// One piece of the text.
    enum Piece: Equatable {
        /// A special token spelled out in the text.
        case special(isStart: Bool)
        /// The scalars in this range of the input.
        case text(Range<Int>)
    }

    /// The character class of a scalar for the pattern.
    enum CharacterClass {
        case letter, number, whitespace, other, unmatched
    }

    static func characterClass(_ scalar: Unicode.Scalar) -> CharacterClass {
        let value = scalar.value
        if value < 0x80 {
            switch value {
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x20: return .whitespace
            default: return .other
            }
        }
        if value == 0x345 { return .unmatched }
        let properties = scalar.properties
        if properties.isWhitespace { return .whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }

    /// Whether `scalar` matches the ASCII letter `letter` (lower case) case-insensitively.
    @inline(__always)
    private static func matchesIgnoringCase(_ scalar: Unicode.Scalar, _ letter: UInt8) -> Bool {
        let value = scalar.value
        if value == UInt32(letter) || value == UInt32(letter) - 0x20 { return true }
        return letter == UInt8(ascii: "s") && value == 0x17F
    }

    /// The length of `literal` (lower-case ASCII) if the scalars at `start` spell it, case-insensitively.
    private static func literalLength(_ literal: [UInt8], in scalars: [Unicode.Scalar], at start: Int) -> Int? {
        guard start + literal.count <= scalars.count else { return nil }
        for (offset, byte) in literal.enumerated() {
            let scalar = scalars[start + offset]
            if (0x61...0x7A).contains(byte) {
                if !matchesIgnoringCase(scalar, byte) { return nil }
            } else if scalar.value != UInt32(byte) {
                return nil
            }
        }
        return literal.count
    }

    private static let startLiteral = Array("<|startoftext|>".utf8)
    private static let endLiteral = Array("<|endoftext|>".utf8)
    private static let contractionSuffixes: [[UInt8]] = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array($0.utf8) }

    /// Splits `scalars` into pieces.
    static func pieces(of scalars: [Unicode.Scalar]) -> [Piece] {
        var pieces: [Piece] = []
        var position = 0
        let count = scalars.count
        scan: while position < count {
            let scalar = scalars[position]
            if scalar == "<" {
                for (literal, isStart) in [(startLiteral, true), (endLiteral, false)] {
                    guard let length = literalLength(literal, in: scalars, at: position) else { continue }
                    // Only the exact spelling is the special token; a case-insensitive match
                    // (`<|ſtartoftext|>`) is one piece that goes through BPE like any other.
                    let exact = scalars[position..<(position + length)].elementsEqual(literal.map { Unicode.Scalar($0) })
                    pieces.append(exact ? .special(isStart: isStart) : .text(position..<(position + length)))
                    position += length
                    continue scan
                }
            }
            if scalar == "'" {
                for suffix in contractionSuffixes {
                    if let length = literalLength(suffix, in: scalars, at: position + 1) {
                        pieces.append(.text(position..<(position + 1 + length)))
                        position += 1 + length
                        continue scan
                    }
                }
            }
            switch characterClass(scalar) {
            case .letter:
                var end = position + 1
                while end < count, characterClass(scalars[end]) == .letter { end += 1 }
                pieces.append(.text(position..<end))
                position = end
            case .number:
                pieces.append(.text(position..<(position + 1)))
                position += 1
            case .other:
                var end = position + 1
                while end < count, characterClass(scalars[end]) == .other { end += 1 }
                pieces.append(.text(position..<end))
                position = end
            case .whitespace, .unmatched:
                position += 1
            }
        }
        return pieces
    }
}
