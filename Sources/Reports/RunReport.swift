import FileIntegrity
import Foundation
import Support

/// Everything one run reports: the reproducibility facts, the confident selection and the
/// results of every method. `RunReportWriter` turns it into `metrics.json`, `report.md` and
/// `report.html`; `RunReport.load(metricsFile:)` reads `metrics.json` back.
public struct RunReport: Codable, Sendable, Equatable {
    public var summary: RunSummary
    /// The confident selection (absent for runs that select nothing, such as zero-shot only).
    public var selection: SelectionSummary?
    /// Results per method, in the order the tables list them.
    public var methods: [MethodResult]
    /// The label-free model selection of K, α and β, when the run made one.
    public var modelSelection: ModelSelectionRecord?
    /// The pool's estimated class shares against zero-shot's, when a method estimated them.
    public var classMarginal: ClassMarginalRecord?

    public init(
        summary: RunSummary, selection: SelectionSummary?, methods: [MethodResult], modelSelection: ModelSelectionRecord? = nil,
        classMarginal: ClassMarginalRecord? = nil
    ) {
        self.classMarginal = classMarginal
        self.summary = summary
        self.selection = selection
        self.methods = methods
        self.modelSelection = modelSelection
    }

    /// The zero-shot reference (the first method of kind `.zeroShot`).
    public var zeroShot: MethodResult? { methods.first { $0.kind == .zeroShot } }

    /// The adapted model (the first method of kind `.upAdapter`).
    public var upAdapter: MethodResult? { methods.first { $0.kind == .upAdapter } }

    /// `method`'s top-1 accuracy minus zero-shot's, as a fraction (0.0123 = +1.23 points);
    /// nil without a zero-shot result or for the zero-shot result itself.
    public func deltaVersusZeroShot(_ method: MethodResult) -> Double? {
        guard let zeroShot, method.name != zeroShot.name else { return nil }
        return method.top1Accuracy - zeroShot.top1Accuracy
    }

    /// `method`'s balanced accuracy minus zero-shot's, as a fraction; nil without a zero-shot
    /// result or for the zero-shot result itself.
    public func balancedDeltaVersusZeroShot(_ method: MethodResult) -> Double? {
        guard let zeroShot, method.name != zeroShot.name else { return nil }
        return method.balancedAccuracy - zeroShot.balancedAccuracy
    }

    /// UP-Adapter's per-class accuracy minus zero-shot's (NaN where either is undefined); nil
    /// unless both methods are present.
    public var perClassGain: [Double]? {
        guard let zeroShot, let upAdapter else { return nil }
        return zip(upAdapter.perClassAccuracy, zeroShot.perClassAccuracy).map { $0 - $1 }
    }

    /// Reads a report back from a `metrics.json` written by `RunReportWriter`.
    /// - Throws: `ReportError.unreadable` naming the file.
    public static func load(metricsFile: URL) throws -> RunReport {
        try RegularFile.require(metricsFile)
        let data: Data
        do {
            data = try Data(contentsOf: metricsFile)
        } catch {
            throw ReportError.unreadable(file: metricsFile.path, reason: ReadableError.reason(error))
        }
        do {
            return try MetricsDocument.decoder().decode(RunReport.self, from: data)
        } catch {
            throw ReportError.unreadable(file: metricsFile.path, reason: ReadableError.reason(error))
        }
    }
}
