import Compute
import Foundation
import Reports

/// Runs the cells of a `SweepSpecification` (all, or one per process as a Slurm array task
/// would) and aggregates every finished cell into one table per variant, mean ± standard
/// deviation over seeds, as Markdown, HTML and JSON. Cells reuse the feature caches of their
/// configurations, so only the first cell of a configuration extracts features.
public struct Sweep: Sendable {
    public let specification: SweepSpecification
    public let backend: any TrainingBackend
    public let progress: ProgressReporter

    public init(specification: SweepSpecification, backend: any TrainingBackend, progress: ProgressReporter) {
        self.specification = specification
        self.backend = backend
        self.progress = progress
    }

    /// The configuration of `cell`: its file, the variant's overrides, then its seed.
    /// - Throws: `ExperimentsError` naming the configuration and override at fault.
    public func configuration(of cell: SweepSpecification.Cell) throws -> ExperimentConfiguration {
        var configuration = try ExperimentConfiguration.load(from: cell.configuration)
            .applying(overrides: cell.variant.overrides + ["training.seed=\(cell.seed)"])
        configuration.runsDirectory = specification.cellsDirectory
        return configuration
    }

    /// Runs one cell; its run folder is `output/cells/<cell name>/<timestamp>/`.
    public func run(_ cell: SweepSpecification.Cell) throws -> PipelineResult {
        let configuration = try configuration(of: cell)
        try configuration.checkPaths()
        progress.log("cell \(cell.index + 1)/\(specification.cells.count): \(cell.name)")
        return try Pipeline(configuration: configuration, name: cell.name, backend: backend, progress: progress).run()
    }

    /// The newest complete `metrics.json` of `cell`, if it finished.
    public func finishedReport(_ cell: SweepSpecification.Cell) -> RunReport? {
        let folder = specification.cellsDirectory.appendingPathComponent(cell.name)
        guard let runs = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return nil }
        for run in runs.filter({ !$0.hasPrefix(".") }).sorted().reversed() {
            let metrics = folder.appendingPathComponent(run).appendingPathComponent("metrics.json")
            if let report = try? RunReport.load(metricsFile: metrics) { return report }
        }
        return nil
    }

    /// Aggregates every finished cell and writes `summary.md`, `summary.html` and
    /// `summary.json` into the output folder (atomically).
    /// - Returns: the summary.
    @discardableResult
    public func aggregate() throws -> SweepSummary {
        let finished = specification.cells.compactMap { cell in finishedReport(cell).map { (cell, $0) } }
        let summary = SweepSummary(specification: specification, finished: finished)
        try FileManager.default.createDirectory(at: specification.output, withIntermediateDirectories: true)
        try ReportFile.write(Data(summary.markdown().utf8), to: specification.output.appendingPathComponent("summary.md"))
        try ReportFile.write(Data(summary.html().utf8), to: specification.output.appendingPathComponent("summary.html"))
        try ReportFile.write(try summary.json(), to: specification.output.appendingPathComponent("summary.json"))
        return summary
    }
}
