import Foundation
import Support

/// Writes the report files of a run into its folder:
///
/// - `metrics.json`: the whole `RunReport` plus derived values (results with Δ, confidence
///   histograms, per-class gains), keys sorted, for re-plotting (`RunReport.load(metricsFile:)`).
/// - `report.md`: the reproducibility facts and the results, selection, per-class, training-loss
///   and α/β-search tables.
/// - `report.html`: the same tables with four inline SVG charts; no script, no external file.
///
/// Each file is written atomically (temporary file, then rename).
public enum RunReportWriter {
    public static let metricsFileName = "metrics.json"
    public static let markdownFileName = "report.md"
    public static let htmlFileName = "report.html"

    /// Checks `report` (`RunReport.validate()`) and writes the three files into `directory`,
    /// creating it if needed.
    /// - Throws: `ReportError.inconsistentReport` before anything is written when the report
    ///   contradicts itself; `cannotCreateDirectory`, `encodingFailed` or `writeFailed` naming
    ///   the folder or file.
    public static func write(_ report: RunReport, to directory: URL) throws {
        try report.validate()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ReportError.cannotCreateDirectory(path: directory.path, reason: ReadableError.reason(error))
        }
        let metricsURL = directory.appendingPathComponent(metricsFileName)
        try ReportFile.write(try metricsJSON(report, file: metricsURL.path), to: metricsURL)
        try ReportFile.write(markdown(report), to: directory.appendingPathComponent(markdownFileName))
        try ReportFile.write(html(report), to: directory.appendingPathComponent(htmlFileName))
    }

    /// The contents of `metrics.json`.
    /// - Throws: `ReportError.encodingFailed` naming `file`.
    public static func metricsJSON(_ report: RunReport, file: String = metricsFileName) throws -> Data {
        try MetricsDocument(report).encoded(file: file)
    }

    /// The contents of `report.md` (the report should be valid, see `RunReport.validate()`).
    public static func markdown(_ report: RunReport) -> String {
        MarkdownRenderer.render(ReportDocument(report))
    }

    /// The contents of `report.html` (the report should be valid, see `RunReport.validate()`).
    public static func html(_ report: RunReport) -> String {
        HTMLRenderer.render(ReportDocument(report), report: report)
    }

    /// The plain-text results table the command line prints at the end of a run: method, label
    /// use, top-1 (two decimals) and Δ against zero-shot in percentage points, balanced accuracy
    /// and its Δ, in aligned columns, followed by the selection's size, precision and balanced
    /// accuracy and the test-label statement.
    public static func resultsTable(_ report: RunReport) -> String {
        let headers = ["Method", "Uses labels", "Top-1", "Δ vs zero-shot (pp)", "Balanced", "Δ balanced (pp)"]
        let rows = report.methods.map { method in
            [method.name, method.labelUse, ReportFormat.percent(method.top1Accuracy), ReportFormat.points(report.deltaVersusZeroShot(method)),
             ReportFormat.percent(method.balancedAccuracy), ReportFormat.points(report.balancedDeltaVersusZeroShot(method))]
        }
        let rightAligned = [false, false, true, true, true, true]
        let widths = headers.indices.map { column in
            ([headers[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned[column] ? padding + cell : cell + padding
            }.joined(separator: "  ").replacingOccurrences(of: #"\s+$"#, with: "", options: .regularExpression)
        }
        var lines = [line(headers), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        lines += rows.map(line)
        if let selection = report.selection {
            lines.append("")
            let balanced = selection.balancedAccuracy.map { ", balanced accuracy \(ReportFormat.percent($0))" } ?? ""
            lines.append("Pseudo-labels: \(selection.selectedCount) selected (K = \(selection.topK)), precision \(ReportFormat.percent(selection.precision))"
                         + balanced)
        }
        if let selection = report.modelSelection {
            lines.append("label-free model selection: \(selection.candidates.count) candidates scored on \(selection.scoringSampleSize) unlabeled images")
        }
        lines.append(ReportDocument.testLabelStatement(report))
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The plain-text results table printed at the end of a run (`RunReportWriter.resultsTable`).
public func resultsTable(_ report: RunReport) -> String {
    RunReportWriter.resultsTable(report)
}
