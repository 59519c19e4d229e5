import Foundation

/// The deterministic text repairs CLIP's cleaning applies before tokenising (the fixes of the
/// `ftfy` library except its heuristic mojibake detection).
///
/// Text is repaired in segments that end after each newline. Within a segment, these passes run
/// in order and repeat until the segment stops changing:
/// 1. HTML references `&name;` / `&#…;` (``HTMLUnescaper/unescapeTerminated(_:)``), skipped for a
///    segment containing `<` and for every segment after it (the text may be HTML markup);
/// 2. C1 controls U+0080…U+009F read as Windows-1252 (`\u{93}` → `“`; undefined ones stay);
/// 3. Latin ligatures taken apart (`ﬁ` → `fi`, `Ĳ` → `IJ`, `ǆ` → `dž`, `ﬅ` → `ſt`);
/// 4. fullwidth and halfwidth forms to their usual width (U+FF01…U+FFEF by compatibility
///    mapping; ideographic space U+3000 → space);
/// 5. curly quotes straightened (`‘’‚‛ʼ` → `'`, `“”„‟` → `"`);
/// 6. line breaks `\r\n`, `\r`, U+2028, U+2029, U+0085 → `\n`;
/// 7. ANSI terminal escapes `ESC [ digits-or-; letter` removed;
/// 8. control characters removed: U+0000…U+0008, U+000B, U+000E…U+001F, U+007F,
///    U+206A…U+206F, U+FEFF, U+FFF9…U+FFFC;
/// 9. NFC normalisation.
enum TextRepair {
    private static let ligatures: [UInt32: [Unicode.Scalar]] = [
        0x0132: ["I", "J"], 0x0133: ["i", "j"], 0x0149: ["\u{2BC}", "n"],
        0x01C4: ["D", "\u{17D}"], 0x01C5: ["D", "\u{17E}"], 0x01C6: ["d", "\u{17E}"],
        0x01C7: ["L", "J"], 0x01C8: ["L", "j"], 0x01C9: ["l", "j"],
        0x01CA: ["N", "J"], 0x01CB: ["N", "j"], 0x01CC: ["n", "j"],
        0xFB00: ["f", "f"], 0xFB01: ["f", "i"], 0xFB02: ["f", "l"], 0xFB03: ["f", "f", "i"],
        0xFB04: ["f", "f", "l"], 0xFB05: ["\u{17F}", "t"], 0xFB06: ["s", "t"],
    ]

    /// Width replacements for U+FF01…U+FFEF (their compatibility mappings), indexed from U+FF01.
    private static let widthForms: [[Unicode.Scalar]?] = (0xFF01...0xFFEF).map { value in
        guard let scalar = Unicode.Scalar(UInt32(value)) else { return nil }
        let original = String(scalar)
        let mapped = original.precomposedStringWithCompatibilityMapping
        let mappedScalars = Array(mapped.unicodeScalars)
        return mappedScalars == [scalar] ? nil : mappedScalars
    }

    /// Repairs a whole text, segment by segment.
    static func repair(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(scalars.count)
        var unescapeReferences = true
        var start = 0
        while start < scalars.count {
            var end = start
            while end < scalars.count, scalars[end] != "\n" { end += 1 }
            if end < scalars.count { end += 1 }
            var segment = Array(scalars[start..<end])
            if unescapeReferences, segment.contains("<") { unescapeReferences = false }
            while true {
                let before = segment
                segment = repairOnce(segment, unescapeReferences: unescapeReferences)
                if segment == before { break }
            }
            output += segment
            start = end
        }
        return output
    }

    private static func repairOnce(_ input: [Unicode.Scalar], unescapeReferences: Bool) -> [Unicode.Scalar] {
        var text = unescapeReferences ? HTMLUnescaper.unescapeTerminated(input) : input
        text = mapCharacters(text)
        text = normalizeLineBreaks(text)
        text = removeTerminalEscapes(text)
        text.removeAll(where: isUnwantedControl)
        return canonicalComposition(text)
    }

    /// Passes 2–5, each a per-character mapping; chained in pass order for every character.
    private static func mapCharacters(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(where: { $0.value >= 0x80 }) else { return text }
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(text.count)
        for scalar in text {
            var pieces = [scalar]
            // 2. C1 controls as Windows-1252.
            if (0x80...0x9F).contains(scalar.value),
                let replacement = HTMLEntityTable.numericReplacements[scalar.value]
            {
                pieces = Array(replacement.unicodeScalars)
            }
            // 3. Ligatures.
            pieces = pieces.flatMap { ligatures[$0.value] ?? [$0] }
            // 4. Width.
            pieces = pieces.flatMap { piece -> [Unicode.Scalar] in
                if piece.value == 0x3000 { return [" "] }
                if (0xFF01...0xFFEF).contains(piece.value), let mapped = widthForms[Int(piece.value - 0xFF01)] {
                    return mapped
                }
                return [piece]
            }
            // 5. Quotes.
            for piece in pieces {
                switch piece.value {
                case 0x02BC, 0x2018...0x201B: output.append("'")
                case 0x201C...0x201F: output.append("\"")
                default: output.append(piece)
                }
            }
        }
        return output
    }

    private static func normalizeLineBreaks(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(where: { $0 == "\r" || $0.value == 0x2028 || $0.value == 0x2029 || $0.value == 0x85 })
        else { return text }
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            switch text[index].value {
            case 0x0D:
                output.append("\n")
                if index + 1 < text.count, text[index + 1] == "\n" { index += 1 }
            case 0x2028, 0x2029, 0x85:
                output.append("\n")
            default:
                output.append(text[index])
            }
            index += 1
        }
        return output
    }

    private static func removeTerminalEscapes(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains("\u{1B}") else { return text }
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            if text[index] == "\u{1B}", index + 1 < text.count, text[index + 1] == "[" {
                var end = index + 2
                while end < text.count, text[end] == ";" || text[end].properties.numericType == .decimal { end += 1 }
                if end < text.count, text[end].isASCII, text[end].properties.isAlphabetic {
                    index = end + 1
                    continue
                }
            }
            output.append(text[index])
            index += 1
        }
        return output
    }

    private static func isUnwantedControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC: return true
        default: return false
        }
    }

    /// NFC; text below U+0300 is already composed and is returned as is.
    static func canonicalComposition(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(where: { $0.value >= 0x300 }) else { return text }
        let string = String(String.UnicodeScalarView(text))
        return Array(string.precomposedStringWithCanonicalMapping.unicodeScalars)
    }
}
