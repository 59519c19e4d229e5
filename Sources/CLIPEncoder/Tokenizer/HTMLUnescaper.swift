/// Decodes HTML character references in two flavours the CLIP text cleaning needs.
///
/// - ``unescape(_:)`` follows the HTML5 rules for text (the behaviour of Python's
///   `html.unescape`): `&#65;`, `&#x41;` with or without `;`; named references with `;`, and
///   the legacy names (`&amp`, `&copy`…) also without it, taking the longest known prefix
///   (`&copy2020` → `©2020`); invalid numbers become U+FFFD or a Windows-1252 character or vanish.
/// - ``unescapeTerminated(_:)`` is the stricter repair pass: only `&name;` / `&#…;` forms of 1–24
///   ASCII letters or digits, named ones from the HTML5 table plus upper-cased variants of
///   lower-case names (`&EACUTE;` → `É`) where the upper-case spelling is not itself a reference.
enum HTMLUnescaper {
    /// HTML5 named references, name (with its `;` where it has one) → characters.
    static let namedReferences: [String: [Unicode.Scalar]] = {
        var table: [String: [Unicode.Scalar]] = [:]
        for line in HTMLEntityTable.namedReferences.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let name = fields.first else { continue }
            let scalars = fields.dropFirst().compactMap { UInt32($0, radix: 16).flatMap(Unicode.Scalar.init) }
            table[String(name)] = scalars
        }
        return table
    }()

    /// References the strict pass decodes, spelled with `&` and `;` → characters.
    static let terminatedReferences: [String: [Unicode.Scalar]] = {
        var table: [String: [Unicode.Scalar]] = [:]
        for (name, value) in namedReferences where name.hasSuffix(";") {
            table["&" + name] = value
        }
        for (name, value) in namedReferences where name.hasSuffix(";") && name == name.lowercased() {
            let upper = "&" + name.uppercased()
            let upperScalars = Array(upper.unicodeScalars)
            if unescape(upperScalars) == upperScalars {
                table[upper] = Array(String(String.UnicodeScalarView(value)).uppercased().unicodeScalars)
            }
        }
        return table
    }()

    private static let ampersand: Unicode.Scalar = "&"
    private static let semicolon: Unicode.Scalar = ";"

    @inline(__always)
    private static func isASCIIDigit(_ scalar: Unicode.Scalar) -> Bool { (0x30...0x39).contains(scalar.value) }

    @inline(__always)
    private static func hexValue(_ scalar: Unicode.Scalar) -> UInt32? {
        switch scalar.value {
        case 0x30...0x39: return scalar.value - 0x30
        case 0x41...0x46: return scalar.value - 0x41 + 10
        case 0x61...0x66: return scalar.value - 0x61 + 10
        default: return nil
        }
    }

    @inline(__always)
    private static func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return false
        }
    }

    /// The characters a numeric reference stands for.
    private static func numericReference(_ number: UInt64) -> [Unicode.Scalar] {
        if number <= UInt64(UInt32.max), let replacement = HTMLEntityTable.numericReplacements[UInt32(number)] {
            return Array(replacement.unicodeScalars)
        }
        if (0xD800...0xDFFF).contains(number) || number > 0x10FFFF { return ["\u{FFFD}"] }
        if HTMLEntityTable.droppedCodePoints.contains(UInt32(number)) { return [] }
        return Unicode.Scalar(UInt32(number)).map { [$0] } ?? ["\u{FFFD}"]
    }

    /// Decodes every character reference the way HTML5 text does (Python's `html.unescape`).
    static func unescape(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard scalars.contains(ampersand) else { return scalars }
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(scalars.count)
        var position = 0
        let count = scalars.count
        while position < count {
            let scalar = scalars[position]
            guard scalar == ampersand, position + 1 < count else {
                output.append(scalar)
                position += 1
                continue
            }
            if let (decoded, end) = reference(in: scalars, at: position) {
                output += decoded
                position = end
            } else {
                output.append(scalar)
                position += 1
            }
        }
        return output
    }

    /// Decodes the reference starting with the `&` at `start`: its characters and the index after it.
    private static func reference(in scalars: [Unicode.Scalar], at start: Int) -> ([Unicode.Scalar], Int)? {
        let count = scalars.count
        var index = start + 1
        if scalars[index] == "#" {
            index += 1
            var number: UInt64 = 0
            var digits = 0
            if index < count, isASCIIDigit(scalars[index]) {
                while index < count, isASCIIDigit(scalars[index]) {
                    number = min(number * 10 + UInt64(scalars[index].value - 0x30), 1 << 40)
                    index += 1
                    digits += 1
                }
            } else if index + 1 < count, scalars[index] == "x" || scalars[index] == "X", hexValue(scalars[index + 1]) != nil {
                index += 1
                while index < count, let value = hexValue(scalars[index]) {
                    number = min(number * 16 + UInt64(value), 1 << 40)
                    index += 1
                    digits += 1
                }
            }
            guard digits > 0 else { return nil }
            if index < count, scalars[index] == semicolon { index += 1 }
            return (numericReference(number), index)
        }
        // A name: up to 32 characters other than tab, newline, form feed, space, <, &, #, ;
        var end = index
        while end < count, end - index < 32 {
            switch scalars[end].value {
            case 0x09, 0x0A, 0x0C, 0x20, 0x3C, 0x26, 0x23, 0x3B: break
            default: end += 1; continue
            }
            break
        }
        guard end > index else { return nil }
        if end < count, scalars[end] == semicolon { end += 1 }
        let name = Array(scalars[index..<end])
        // Names are ASCII; looking up only ASCII spellings also keeps `String`'s canonical
        // equivalence (KELVIN SIGN equals `K`) from matching what the table does not hold.
        let asciiLength = name.prefix { $0.isASCII }.count
        if asciiLength == name.count, let value = namedReferences[String(String.UnicodeScalarView(name))] {
            return (value, end)
        }
        // The longest prefix (at least two characters) that is a legacy reference.
        var length = min(name.count - 1, asciiLength)
        while length >= 2 {
            if let value = namedReferences[String(String.UnicodeScalarView(name[0..<length]))] {
                return (value + name[length...], end)
            }
            length -= 1
        }
        return nil
    }

    /// Decodes only `&name;` and `&#…;` references of 1–24 ASCII letters or digits (the repair pass).
    static func unescapeTerminated(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard scalars.contains(ampersand) else { return scalars }
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(scalars.count)
        var position = 0
        let count = scalars.count
        while position < count {
            let scalar = scalars[position]
            guard scalar == ampersand else {
                output.append(scalar)
                position += 1
                continue
            }
            var bodyStart = position + 1
            let numeric = bodyStart < count && scalars[bodyStart] == "#"
            if numeric { bodyStart += 1 }
            var bodyEnd = bodyStart
            while bodyEnd < count, isASCIIAlphanumeric(scalars[bodyEnd]) { bodyEnd += 1 }
            let length = bodyEnd - bodyStart
            guard length >= 1, length <= 24, bodyEnd < count, scalars[bodyEnd] == semicolon else {
                output.append(scalar)
                position += 1
                continue
            }
            let matched = Array(scalars[position...bodyEnd])
            position = bodyEnd + 1
            if let value = terminatedReferences[String(String.UnicodeScalarView(matched))] {
                output += value
            } else if numeric {
                // Keep the text unless the whole reference, semicolon included, was consumed.
                let decoded = unescape(matched)
                output += decoded.contains(semicolon) ? matched : decoded
            } else {
                output += matched
            }
        }
        return output
    }
}
