/// A table of the report, rendered the same way in Markdown and HTML.
public struct ReportTable {
    public enum Alignment { case left, right }

    /// One cell: plain text (escaped when rendered), optionally emphasised.
    public struct Cell: ExpressibleByStringLiteral {
        public var text: String
        public var emphasized = false

        public init(_ text: String, emphasized: Bool = false) {
            self.text = text
            self.emphasized = emphasized
        }

        public init(stringLiteral value: String) { self.init(value) }
    }

    public var headers: [String]
    public var alignments: [Alignment]
    public var rows: [[Cell]]

    public init(headers: [String], alignments: [Alignment]? = nil, rows: [[Cell]] = []) {
        self.headers = headers
        self.alignments = alignments ?? [.left] + Array(repeating: .right, count: max(headers.count - 1, 0))
        self.rows = rows
    }

    /// GitHub-flavoured Markdown: a header row, an alignment row, one line per row.
    public func markdown() -> String {
        func line(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }
        var lines = [line(headers.map(TextEscaping.markdown))]
        lines.append("|" + alignments.map { $0 == .right ? "---:" : ":---" }.joined(separator: "|") + "|")
        for row in rows {
            lines.append(line(row.map { cell in
                let text = TextEscaping.markdown(cell.text)
                return cell.emphasized && !text.isEmpty ? "**\(text)**" : text
            }))
        }
        return lines.joined(separator: "\n")
    }

    /// An HTML `<table>` (XHTML-compatible), cells escaped; emphasised cells in `<strong>`.
    public func html(className: String? = nil) -> String {
        var parts: [String] = []
        parts.append(className.map { "<table class=\"\(TextEscaping.html($0))\">" } ?? "<table>")
        parts.append("<thead><tr>" + headers.enumerated().map { index, header in
            "<th\(classAttribute(column: index, emphasized: false))>\(TextEscaping.html(header))</th>"
        }.joined() + "</tr></thead>")
        parts.append("<tbody>")
        for row in rows {
            parts.append("<tr>" + row.enumerated().map { index, cell in
                let text = TextEscaping.html(cell.text)
                let content = cell.emphasized ? "<strong>\(text)</strong>" : text
                return "<td\(classAttribute(column: index, emphasized: cell.emphasized))>\(content)</td>"
            }.joined() + "</tr>")
        }
        parts.append("</tbody></table>")
        return parts.joined(separator: "\n")
    }

    /// ` class="number chosen"`, ` class="number"`, … or nothing.
    private func classAttribute(column: Int, emphasized: Bool) -> String {
        var classes: [String] = []
        if column < alignments.count, alignments[column] == .right { classes.append("number") }
        if emphasized { classes.append("chosen") }
        return classes.isEmpty ? "" : " class=\"\(classes.joined(separator: " "))\""
    }
}
