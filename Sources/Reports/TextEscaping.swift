/// Escaping of free text (class names, method names, paths, notes) for the report formats.
public enum TextEscaping {
    /// Text safe inside HTML/XML element content and double- or single-quoted attributes:
    /// `&`, `<`, `>`, `"` and `'` as character references; control characters that XML 1.0
    /// forbids become U+FFFD.
    public static func html(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
            default:
                let value = scalar.value
                if value < 0x20 || value == 0xFFFE || value == 0xFFFF {
                    result += "\u{FFFD}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    /// Text safe inside a Markdown table cell: `&`, `<`, `>` as HTML character references (so
    /// names render literally instead of as tags), `|`, `\`, `*` and `` ` `` escaped with a
    /// backslash, line breaks as spaces.
    public static func markdown(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "|", "\\", "*", "`": result += "\\" + String(scalar)
            case "\n", "\r", "\t": result += " "
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// `text` cut to at most `limit` characters, ending in "…" when cut.
    public static func truncated(_ text: String, limit: Int) -> String {
        guard text.count > limit, limit > 1 else { return text }
        return String(text.prefix(limit - 1)) + "…"
    }
}
