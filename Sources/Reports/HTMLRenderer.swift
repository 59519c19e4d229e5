/// Renders a `ReportDocument` as one self-contained HTML page (`report.html`): inline CSS,
/// inline SVG charts, no script and no external file. The page is also well-formed XML.
public enum HTMLRenderer {
    static func render(_ document: ReportDocument, report: RunReport) -> String {
        var parts = [
            "<!DOCTYPE html>",
            "<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">",
            "<head>",
            "<meta charset=\"utf-8\"/>",
            "<title>\(TextEscaping.html(document.title))</title>",
            "<style>\n\(style)\n</style>",
            "</head>",
            "<body>",
            "<h1>\(TextEscaping.html(document.title))</h1>",
        ]
        for block in document.blocks {
            switch block {
            case .heading(let text, let level):
                let tag = "h\(min(max(level, 1), 6))"
                parts.append("<\(tag)>\(TextEscaping.html(text))</\(tag)>")
            case .paragraph(let text):
                parts.append("<p>\(TextEscaping.html(text))</p>")
            case .statement(let text):
                let flagged = report.modelSelection?.usedTestLabels == true
                parts.append("<p class=\"statement\(flagged ? " warning" : "")\">\(TextEscaping.html(text))</p>")
            case .table(let table, let className):
                parts.append("<div class=\"table\">\n\(table.html(className: className))\n</div>")
            case .bullets(let items):
                parts.append("<ul>" + items.map { "<li>\(TextEscaping.html($0))</li>" }.joined() + "</ul>")
            case .chart(let chart):
                if let svg = svg(chart, report: report) { parts.append("<figure>\n\(svg)\n</figure>") }
            }
        }
        parts.append("</body>")
        parts.append("</html>")
        return parts.joined(separator: "\n") + "\n"
    }

    private static func svg(_ chart: ReportDocument.Chart, report: RunReport) -> String? {
        switch chart {
        case .topOneAccuracy:
            return report.methods.isEmpty ? nil : ReportCharts.topOneAccuracy(report)
        case .perClassAccuracy(let labels):
            return ReportCharts.perClassAccuracy(report, labels: labels)
        case .confidenceHistogram:
            return report.selection.map(ReportCharts.confidenceHistogram)
        case .trainingLoss:
            return ReportCharts.trainingLoss(report)
        case .criterionScores(let criterion):
            return report.modelSelection.flatMap { ReportCharts.criterionScores($0, criterion: criterion) }
        case .classMarginal:
            return report.classMarginal.map { ReportCharts.classMarginal($0, classNames: report.summary.classNames) }
        }
    }

    /// The page's CSS (no `<` or `&`, so it is valid XML text as well).
    public static let style = """
    body { font-family: Helvetica, Arial, sans-serif; color: #222; max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.4; }
    h1 { font-size: 1.6em; border-bottom: 2px solid #1f5fbf; padding-bottom: 0.2em; }
    h2 { font-size: 1.25em; margin-top: 1.8em; }
    h3 { font-size: 1.05em; }
    div.table { overflow-x: auto; }
    table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.92em; }
    th, td { border: 1px solid #d5d9de; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
    th { background: #eef1f5; }
    td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
    td.chosen { background: #fff4cc; }
    tbody tr:nth-child(even) { background: #fafbfc; }
    table.facts td:first-child { font-weight: bold; white-space: nowrap; }
    p.statement { font-weight: bold; padding: 0.4em 0.7em; background: #e9f5ec; border-left: 4px solid #2e8b57; }
    p.statement.warning { background: #fdecea; border-left-color: #c0392b; }
    figure { margin: 1em 0; overflow-x: auto; }
    """
}
