/// Text from files (class names, template text, paths) made safe to print on a terminal.
public enum TerminalText {
    /// `text` with every control character escaped: C0 controls, DEL and C1 controls as `\x1B`,
    /// line breaks and tabs as `\n`, `\r`, `\t`, the bidirectional overrides and isolates
    /// (U+202A…U+202E, U+2066…U+2069) as `\u{202E}`, and a backslash as `\\`, so that a name
    /// holding an escape sequence is shown, not obeyed, and two different names never print alike.
    public static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            switch scalar {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if value < 0x20 || (0x7F...0x9F).contains(value) {
                    result += "\\x" + hex(value, digits: 2)
                } else if (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value) {
                    result += "\\u{" + hex(value, digits: 4) + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
