/// Renders a `ReportDocument` as GitHub-flavoured Markdown (`report.md`); charts are left out
/// (they are in `report.html`).
enum MarkdownRenderer {
    static func render(_ document: ReportDocument) -> String {
        var parts = ["# " + TextEscaping.markdown(document.title)]
        for block in document.blocks {
            switch block {
            case .heading(let text, let level):
                parts.append(String(repeating: "#", count: level) + " " + TextEscaping.markdown(text))
            case .paragraph(let text):
                parts.append(TextEscaping.markdown(text))
            case .statement(let text):
                parts.append(TextEscaping.markdown(text))
            case .table(let table, _):
                parts.append(table.markdown())
            case .bullets(let items):
                parts.append(items.map { "- " + TextEscaping.markdown($0) }.joined(separator: "\n"))
            case .chart:
                continue
            }
        }
        return parts.joined(separator: "\n\n") + "\n"
    }
}
