/// The reversible byte-to-character mapping that byte-level BPE works on.
///
/// Every byte value gets a printable, non-whitespace character: the bytes `!`…`~`, `¡`…`¬`
/// and `®`…`ÿ` stand for themselves; the remaining 68 bytes (controls, space, `0x7F`…`0xA0`,
/// soft hyphen) take U+0100 onwards in byte order. Vocabulary order follows ``bytesInOrder``.
enum ByteLevelAlphabet {
    /// The 256 byte values in vocabulary order: self-mapped bytes first, then the others.
    static let bytesInOrder: [UInt8] = {
        let selfMapped = Array(UInt8(ascii: "!")...UInt8(ascii: "~")) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        let selfMappedSet = Set(selfMapped)
        return selfMapped + (0...255).map { UInt8($0) }.filter { !selfMappedSet.contains($0) }
    }()

    /// The character standing for each byte value, indexed by the byte.
    static let characterForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 0x100
        for byte in bytesInOrder {
            if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || byte >= 0xAE {
                table[Int(byte)] = Unicode.Scalar(byte)
            } else {
                // U+0100…U+0143 are all valid scalars.
                table[Int(byte)] = Unicode.Scalar(next) ?? " "
                next += 1
            }
        }
        return table
    }()

    /// The byte-level string of a UTF-8 byte sequence (each byte becomes one character).
    static func string(forBytes bytes: some Sequence<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(characterForByte[Int(byte)]) }
        return String(scalars)
    }
}
