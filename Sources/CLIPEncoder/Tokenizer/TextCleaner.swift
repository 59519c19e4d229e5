/// CLIP's text cleaning: repair, HTML-unescape twice, collapse whitespace, lower-case.
///
/// Works on Unicode scalars throughout (never on `Character`s or `String` equality, which would
/// treat canonically equivalent spellings as one), so every step sees exactly the code points
/// the reference sees.
enum TextCleaner {
    /// The cleaned scalars of `text`, ready for ``PreTokenizer``.
    static func clean(_ text: String) -> [Unicode.Scalar] {
        var scalars = Array(text.unicodeScalars)
        // Printable ASCII without `&` is left unchanged by repair and unescaping.
        let needsRepair = scalars.contains { $0.value < 0x20 || $0.value > 0x7E || $0 == "&" }
        if needsRepair {
            scalars = TextRepair.repair(scalars)
            scalars = HTMLUnescaper.unescape(HTMLUnescaper.unescape(scalars))
        }
        scalars = collapseWhitespace(scalars)
        return lowercased(scalars)
    }

    /// Whitespace as Python's `str.strip()` sees it: White_Space plus U+001C…U+001F.
    @inline(__always)
    static func isStrippable(_ scalar: Unicode.Scalar) -> Bool {
        (0x1C...0x1F).contains(scalar.value) || isPatternWhitespace(scalar)
    }

    /// Whitespace as the cleaning pattern `\s` sees it: the White_Space property.
    @inline(__always)
    static func isPatternWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20: return true
        case 0x21...0x84: return false
        default: return scalar.properties.isWhitespace
        }
    }

    /// Strips, replaces each run of whitespace with one space, and strips again.
    static func collapseWhitespace(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var start = 0
        var end = scalars.count
        while start < end, isStrippable(scalars[start]) { start += 1 }
        while end > start, isStrippable(scalars[end - 1]) { end -= 1 }
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(end - start)
        var index = start
        while index < end {
            if isPatternWhitespace(scalars[index]) {
                output.append(" ")
                while index < end, isPatternWhitespace(scalars[index]) { index += 1 }
            } else {
                output.append(scalars[index])
                index += 1
            }
        }
        // The inner runs are now single spaces; strip what the first strip left at the ends.
        var first = 0
        var last = output.count
        while first < last, isStrippable(output[first]) { first += 1 }
        while last > first, isStrippable(output[last - 1]) { last -= 1 }
        return first == 0 && last == output.count ? output : Array(output[first..<last])
    }

    /// Full Unicode lower-casing, with capital sigma becoming final `ς` at the end of a word.
    static func lowercased(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(scalars.count)
        for (index, scalar) in scalars.enumerated() {
            let value = scalar.value
            if value < 0x80 {
                output.append((0x41...0x5A).contains(value) ? Unicode.Scalar(UInt8(value + 0x20)) : scalar)
            } else if value == 0x3A3 {
                output.append(isFinalSigma(at: index, in: scalars) ? "\u{3C2}" : "\u{3C3}")
            } else {
                output += scalar.properties.lowercaseMapping.unicodeScalars
            }
        }
        return output
    }

    /// The Unicode Final_Sigma condition: a cased letter before (skipping case-ignorable
    /// characters) and none after.
    private static func isFinalSigma(at index: Int, in scalars: [Unicode.Scalar]) -> Bool {
        var before = index - 1
        while before >= 0, scalars[before].properties.isCaseIgnorable { before -= 1 }
        guard before >= 0, scalars[before].properties.isCased else { return false }
        var after = index + 1
        while after < scalars.count, scalars[after].properties.isCaseIgnorable { after += 1 }
        return after == scalars.count || !scalars[after].properties.isCased
    }
}
