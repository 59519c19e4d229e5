import Foundation
import Reports

/// The aggregated results of a sweep: per variant, per method, per configuration, the test
/// top-1 accuracy's and the balanced accuracy's mean and standard deviation over the finished
/// seeds, and the gain over zero-shot CLIP of the same cells.
public struct SweepSummary: Codable, Sendable, Equatable {
    /// The accuracy a statistic aggregates.
    public enum Metric: String, Codable, Sendable, CaseIterable {
        /// `MethodResult.top1Accuracy`.
        case top1
        /// `MethodResult.balancedAccuracy` (mean per-class accuracy).
        case balanced

        /// The metric's value in `result`.
        func value(_ result: MethodResult) -> Double {
            switch self {
            case .top1: return result.top1Accuracy
            case .balanced: return result.balancedAccuracy
            }
        }

        /// How the tables name it.
        var title: String {
            switch self {
            case .top1: return "top-1 accuracy"
            case .balanced: return "balanced accuracy"
            }
        }
    }

    /// Mean and sample standard deviation of one method's metric on one configuration.
    public struct Statistic: Codable, Sendable, Equatable {
        /// Mean accuracy (top-1 or balanced, as the field holding it says), 0…1.
        public var mean: Double
        /// Sample standard deviation over seeds (0 for a single seed).
        public var standardDeviation: Double
        /// Mean of the accuracy minus zero-shot's of the same cells (nil without zero-shot).
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
        /// Top-1 accuracy by configuration name.
        public var configurations: [String: Statistic]
        /// Mean over configurations of the per-configuration mean top-1 gains (nil unless every
        /// configuration has one).
        public var averageGain: Double?
        /// Balanced accuracy by configuration name.
        public var balancedConfigurations: [String: Statistic]
        /// Mean over configurations of the per-configuration mean balanced-accuracy gains.
        public var averageBalancedGain: Double?

        /// The statistics of `metric` by configuration name.
        func statistics(_ metric: Metric) -> [String: Statistic] {
            metric == .top1 ? configurations : balancedConfigurations
        }

        /// The average gain of `metric`.
        func averageGain(_ metric: Metric) -> Double? {
            metric == .top1 ? averageGain : averageBalancedGain
        }
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
                func statistics(_ metric: Metric) -> (byConfiguration: [String: Statistic], averageGain: Double?) {
                    var statistics = [String: Statistic]()
                    for configuration in specification.configurations {
                        let reports = cells.filter { $0.0.configuration == configuration }.map(\.1)
                        let values = reports.compactMap { $0.methods.first { $0.name == method }.map(metric.value) }
                        guard !values.isEmpty else { continue }
                        let gains = reports.compactMap { report in
                            report.methods.first { $0.name == method }.flatMap { result in
                                report.zeroShot.map { zero in metric.value(result) - metric.value(zero) }
                            }
                        }
                        statistics[configuration.deletingPathExtension().lastPathComponent] = Statistic(values, gains: gains)
                    }
                    let gains = configurations.compactMap { statistics[$0]?.meanGain }
                    return (statistics, gains.count == configurations.count && !gains.isEmpty ? gains.reduce(0, +) / Double(gains.count) : nil)
                }
                let top1 = statistics(.top1), balanced = statistics(.balanced)
                return Row(method: method, usesLabels: labelUse[method] ?? false, configurations: top1.byConfiguration,
                           averageGain: top1.averageGain, balancedConfigurations: balanced.byConfiguration,
                           averageBalancedGain: balanced.averageGain)
            }
            return Table(variant: variant.name, overrides: variant.overrides, rows: rows)
        }
    }

    /// The report tables: per variant, one of top-1 and one of balanced accuracy, methods ×
    /// configurations, "mean ± std (Δ)" in percent.
    func reportTables() -> [(title: String, table: ReportTable)] {
        tables.flatMap { table in Metric.allCases.map { metric in reportTable(table, metric: metric) } }
    }

    /// One variant's table of `metric`.
    private func reportTable(_ table: Table, metric: Metric) -> (title: String, table: ReportTable) {
        var report = ReportTable(headers: ["Method", "Uses labels"] + configurations + ["Mean Δ (pp)"],
                                 alignments: [.left, .left] + Array(repeating: .right, count: configurations.count + 1))
        for row in table.rows {
            var cells = [ReportTable.Cell(row.method), ReportTable.Cell(row.usesLabels ? "yes" : "no")]
            for configuration in configurations {
                guard let statistic = row.statistics(metric)[configuration] else { cells.append(ReportTable.Cell(ReportFormat.missing)); continue }
                var text = String(format: "%.2f", 100 * statistic.mean)
                if statistic.seeds > 1 { text += String(format: " ± %.2f", 100 * statistic.standardDeviation) }
                if let gain = statistic.meanGain { text += String(format: " (%+.2f)", 100 * gain) }
                cells.append(ReportTable.Cell(text))
            }
            cells.append(ReportTable.Cell(row.averageGain(metric).map { String(format: "%+.2f", 100 * $0) } ?? ReportFormat.missing))
            report.rows.append(cells)
        }
        let overrides = table.overrides.isEmpty ? "no overrides" : table.overrides.joined(separator: ", ")
        return ("Variant \(table.variant) (\(overrides)): \(metric.title)", report)
    }

    private var preamble: String {
        "Test top-1 accuracy and balanced accuracy (the mean of the per-class accuracies) in %, one table each per variant, "
            + "mean ± standard deviation over seeds \(seeds.map(String.init).joined(separator: ", ")), "
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
