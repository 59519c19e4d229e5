import Foundation
import Support

/// The contents of `metrics.json`: the whole `RunReport` (top-level keys `summary`,
/// `selection`, `methods`, `modelSelection`, so `RunReport` decodes from the file directly) plus the values the
/// report derives from it (`derived`), so that every table and chart can be redrawn from the
/// file alone.
struct MetricsDocument: Encodable {
    /// Version of this layout; raised when a key changes meaning.
    static let currentFormatVersion = 1

    /// One row of the results table.
    struct ResultRow: Encodable {
        let name: String
        let kind: MethodKind
        let usesLabels: Bool
        let shots: Int?
        let top1Accuracy: Double
        /// Top-1 minus zero-shot's, as a fraction; absent for zero-shot itself or without it.
        let deltaVersusZeroShot: Double?
        /// Mean per-class accuracy over the classes with test images (`null` when undefined).
        let balancedAccuracy: Double?
        /// Balanced accuracy minus zero-shot's, as a fraction; absent like `deltaVersusZeroShot`.
        let balancedDeltaVersusZeroShot: Double?
    }

    /// The confidence histograms of the selection chart.
    struct Histograms: Encodable {
        let selected: ConfidenceHistogram
        let rejected: ConfidenceHistogram
    }

    /// Values computed from the report.
    struct Derived: Encodable {
        let results: [ResultRow]
        let confidenceHistograms: Histograms?
        /// UP-Adapter's per-class accuracy minus zero-shot's (`null` where undefined).
        let perClassGain: [Double?]?
        let totalSeconds: Double
    }

    let formatVersion: Int
    let summary: RunSummary
    let selection: SelectionSummary?
    let methods: [MethodResult]
    let modelSelection: ModelSelectionRecord?
    /// The pool's estimated class shares against zero-shot's (absent when no method estimated them).
    let classMarginal: ClassMarginalRecord?
    let derived: Derived

    init(_ report: RunReport) {
        formatVersion = Self.currentFormatVersion
        summary = report.summary
        selection = report.selection
        methods = report.methods
        modelSelection = report.modelSelection
        classMarginal = report.classMarginal
        derived = Derived(
            results: report.methods.map { method in
                ResultRow(
                    name: method.name, kind: method.kind, usesLabels: method.usesLabels, shots: method.shots,
                    top1Accuracy: method.top1Accuracy, deltaVersusZeroShot: report.deltaVersusZeroShot(method),
                    balancedAccuracy: method.balancedAccuracy.isNaN ? nil : method.balancedAccuracy,
                    balancedDeltaVersusZeroShot: report.balancedDeltaVersusZeroShot(method).flatMap { $0.isNaN ? nil : $0 })
            },
            confidenceHistograms: report.selection.map { Histograms(selected: $0.selectedHistogram, rejected: $0.rejectedHistogram) },
            perClassGain: report.perClassGain.map { gains in gains.map { $0.isNaN ? nil : $0 } },
            totalSeconds: report.summary.totalSeconds)
    }

    /// Non-finite numbers outside the fields that write them as `null` (a diverged loss, say)
    /// are written as these strings and read back.
    private static let nonFinite = (positive: "Infinity", negative: "-Infinity", nan: "NaN")

    /// The JSON text: keys sorted, indented, plain-value arrays on one line.
    /// - Throws: `ReportError.encodingFailed` naming `file`.
    func encoded(file: String) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: Self.nonFinite.positive, negativeInfinity: Self.nonFinite.negative, nan: Self.nonFinite.nan)
        do {
            return Data(PrettyJSON.format([UInt8](try encoder.encode(self))))
        } catch {
            throw ReportError.encodingFailed(file: file, reason: ReadableError.reason(error))
        }
    }

    /// A decoder that reads what `encoded(file:)` writes.
    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: nonFinite.positive, negativeInfinity: nonFinite.negative, nan: nonFinite.nan)
        return decoder
    }
}
