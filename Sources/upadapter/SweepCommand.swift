import ArgumentParser
import Experiments
import Foundation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a study of configurations × method variants × seeds and aggregate it into one table.",
        discussion: """
            The specification (YAML) names configs, seeds, variants (name: list of --set overrides) and output; see \
            docs/method-study.md. Without --cell every unfinished cell runs in turn (finished cells are skipped, so an \
            interrupted sweep resumes), then the finished cells are aggregated into output/summary.{md,html,json}. \
            With --cell N only cell N runs (0-based; e.g. --cell $SLURM_ARRAY_TASK_ID); run `upadapter sweep --spec S \
            --aggregate` once the array is done. Cells reuse the feature caches of their configurations.
            """)

    @Option(help: "Sweep specification (YAML), e.g. Configs/study/method-study.yaml.") var spec: String
    @OptionGroup var deviceOptions: DeviceOptions
    @Option(help: "Run only this cell (0-based index), then stop.") var cell: Int?
    @Flag(help: "Only aggregate the finished cells.") var aggregate = false
    @Flag(help: "List the cells and whether each has finished.") var list = false
    @Flag(help: "Rerun cells that already finished.") var rerun = false
    @Flag(help: "Print only the cell names and the summary path.") var quiet = false

    func validate() throws {
        if let cell, cell < 0 { throw ValidationError("--cell must be 0 or more, got \(cell)") }
        if [cell != nil, aggregate, list].filter({ $0 }).count > 1 {
            throw ValidationError("give at most one of --cell, --aggregate and --list")
        }
    }

    func run() throws {
        let specification = try SweepSpecification.load(from: URL(fileURLWithPath: (spec as NSString).expandingTildeInPath))
        let cells = specification.cells
        if let cell, cell >= cells.count {
            throw ValidationError("--cell \(cell) is outside the sweep's \(cells.count) cells (0...\(cells.count - 1))")
        }
        let progress = ProgressReporter(quiet: quiet)
        let backend = try openTrainingBackend(deviceOptions, configured: "auto")
        let sweep = Sweep(specification: specification, backend: backend, progress: progress)
        if list {
            for cell in cells { print("\(cell.index)\t\(sweep.finishedReport(cell) == nil ? "pending " : "finished")\t\(cell.name)") }
            return
        }
        if !aggregate {
            for cell in cells where self.cell.map({ $0 == cell.index }) ?? true {
                if !rerun, sweep.finishedReport(cell) != nil {
                    if quiet == false { print("cell \(cell.index) \(cell.name): finished earlier, skipped") }
                    continue
                }
                let result = try sweep.run(cell)
                print("cell \(cell.index) \(cell.name): \(result.runDirectory.path)")
            }
            if self.cell != nil { return }
        }
        let summary = try sweep.aggregate()
        if !quiet { print(summary.markdown()) }
        print("summary: \(specification.output.appendingPathComponent("summary.md").path) (\(summary.finishedCount) of \(summary.cellCount) cells)")
    }
}
