import Foundation

/// The aggregated results of a sweep: per variant, per method, per configuration, the test
/// top-1 accuracy's mean and standard deviation over the finished seeds, and the gain over
/// zero-shot CLIP of the same cells.
public struct SweepSummary: Codable, Sendable, Equatable {
    /// Mean and sample standard deviation of one method on one configuration.
    public struct Statistic: Codable, Sendable, Equatable {
        /// Mean top-1 accuracy, 0…1.
        public var mean: Double
        /// Sample standard deviation over seeds (0 for a single seed).
        public var standardDeviation: Double
        /// Mean of top-1 minus zero-shot's top-1 of the same cells (nil without zero-shot).
        public var meanGain: Double?
        public var seeds: Int

        init(_ values: [Double], gains: [Double]) {
            let average = values.reduce(0, +) / Double(max(values.count, 1))
            mean = average
            let variance = values.count > 1 ? values.map { ($0 - average) * ($0 - average) }.reduce(0, +) / Double(values.count - 1) : 0
            standardDeviation = variance.squareRoot()
            meanGain = gains.count == values.count && !gains.isEmpty ? gains.reduce(0, +) / Double(gains.count) : nil
            seeds = values.count
        }
    }

    /// One method's row.
    public struct Row: Codable, Sendable, Equatable {
        public var method: String
        public var usesLabels: Bool
        /// By configuration name.
        public var configurations: [String: Statistic]
        /// Mean over configurations of the per-configuration mean gains (nil unless every
        /// configuration has one).
        public var averageGain: Double?
    }

    /// One variant's table.
    public struct Table: Codable, Sendable, Equatable {
        public var variant: String
        public var overrides: [String]
        public var rows: [Row]
    }

    public var name: String
    /// Configuration names, in the specification's order (the table's columns).
    public var configurations: [String]
    public var seeds: [Int]
    public var cellCount: Int
    public var finishedCount: Int
    public var tables: [Table]

    init(specification: SweepSpecification, finished: [(SweepSpecification.Cell, RunReport)]) {
        name = specification.name
        let configurations = specification.configurations.map { $0.deletingPathExtension().lastPathComponent }
        self.configurations = configurations
        seeds = specification.seeds
        cellCount = specification.cells.count
        finishedCount = finished.count
        tables = specification.variants.map { variant in
            let cells = finished.filter { $0.0.variant == variant }
            var methodOrder = [String](), labelUse = [String: Bool]()
            for (_, report) in cells {
                for method in report.methods where labelUse[method.name] == nil {
                    methodOrder.append(method.name)
                    labelUse[method.name] = method.usesLabels
                }
            }
            let rows = methodOrder.map { method -> Row in
                var statistics = [String: Statistic]()
                for configuration in specification.configurations {
                    let reports = cells.filter { $0.0.configuration == configuration }.map(\.1)
                    let values = reports.compactMap { $0.methods.first { $0.name == method }?.top1Accuracy }
                    guard !values.isEmpty else { continue }
                    let gains = reports.compactMap { report in
                        report.methods.first { $0.name == method }.flatMap { result in report.zeroShot.map { zero in result.top1Accuracy - zero.top1Accuracy } }
                    }
                    statistics[configuration.deletingPathExtension().lastPathComponent] = Statistic(values, gains: gains)
                }
                let gains = configurations.compactMap { statistics[$0]?.meanGain }
                return Row(method: method, usesLabels: labelUse[method] ?? false, configurations: statistics,
                           averageGain: gains.count == configurations.count && !gains.isEmpty ? gains.reduce(0, +) / Double(gains.count) : nil)
            }
            return Table(variant: variant.name, overrides: variant.overrides, rows: rows)
        }
    }

    /// The report tables: per variant, methods × configurations, "mean ± std (Δ)" in percent.
    func reportTables() -> [(title: String, table: ReportTable)] {
        tables.map { table in
            var report = ReportTable(headers: ["Method", "Uses labels"] + configurations + ["Mean Δ (pp)"],
                                     alignments: [.left, .left] + Array(repeating: .right, count: configurations.count + 1))
            for row in table.rows {
                var cells = [ReportTable.Cell(row.method), ReportTable.Cell(row.usesLabels ? "yes" : "no")]
                for configuration in configurations {
                    guard let statistic = row.configurations[configuration] else { cells.append(ReportTable.Cell(ReportFormat.missing)); continue }
                    var text = String(format: "%.2f", 100 * statistic.mean)
                    if statistic.seeds > 1 { text += String(format: " ± %.2f", 100 * statistic.standardDeviation) }
                    if let gain = statistic.meanGain { text += String(format: " (%+.2f)", 100 * gain) }
                    cells.append(ReportTable.Cell(text))
                }
                cells.append(ReportTable.Cell(row.averageGain.map { String(format: "%+.2f", 100 * $0) } ?? ReportFormat.missing))
                report.rows.append(cells)
            }
            let overrides = table.overrides.isEmpty ? "no overrides" : table.overrides.joined(separator: ", ")
            return ("Variant \(table.variant) (\(overrides))", report)
        }
    }

    private var preamble: String {
        "Test top-1 accuracy in %, mean ± standard deviation over seeds \(seeds.map(String.init).joined(separator: ", ")), "
            + "with the mean gain over zero-shot CLIP of the same cells in brackets; \(finishedCount) of \(cellCount) cells finished."
    }

    /// GitHub-flavoured Markdown.
    public func markdown() -> String {
        var lines = ["# Sweep \(name)", "", preamble, ""]
        for (title, table) in reportTables() {
            lines += ["## \(title)", "", table.markdown(), ""]
        }
        return lines.joined(separator: "\n")
    }

    /// A self-contained HTML page.
    public func html() -> String {
        var parts = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\"/>",
                     "<title>Sweep \(TextEscaping.html(name))</title>", "<style>\n\(HTMLRenderer.style)\n</style>", "</head>", "<body>",
                     "<h1>Sweep \(TextEscaping.html(name))</h1>", "<p>\(TextEscaping.html(preamble))</p>"]
        for (title, table) in reportTables() {
            parts += ["<h2>\(TextEscaping.html(title))</h2>", "<div class=\"table\">\n\(table.html(className: "results"))\n</div>"]
        }
        parts += ["</body>", "</html>"]
        return parts.joined(separator: "\n") + "\n"
    }

    /// Sorted, indented JSON.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
