import Foundation
import Support

/// Errors raised while checking, writing or reading the report of a run. Every case names the
/// file or the report field at fault.
public enum ReportError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The run folder does not exist and cannot be created.
    case cannotCreateDirectory(path: String, reason: String)
    /// A report file's contents cannot be produced (JSON encoding failed).
    case encodingFailed(file: String, reason: String)
    /// A report file cannot be written, or its temporary copy cannot be moved into place.
    case writeFailed(file: String, reason: String)
    /// A metrics file cannot be read or decoded.
    case unreadable(file: String, reason: String)
    /// A value of the report contradicts another (`field` is its path in `metrics.json`, such
    /// as `methods[1].perClassAccuracy`).
    case inconsistentReport(field: String, reason: String)
    /// True and predicted label lists of different lengths.
    case labelCountMismatch(trueLabels: Int, predictedLabels: Int)
    /// A label outside `0..<classCount`; `list` is `true` or `predicted`.
    case labelOutOfRange(list: String, position: Int, label: Int, classCount: Int)

    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let reason):
            return "cannot create run folder \(path): \(reason)"
        case .encodingFailed(let file, let reason):
            return "\(file): cannot encode the report: \(reason)"
        case .writeFailed(let file, let reason):
            return "\(file): cannot write: \(reason)"
        case .unreadable(let file, let reason):
            return "\(file): cannot read the report: \(reason)"
        case .inconsistentReport(let field, let reason):
            return "run report field '\(field)': \(reason)"
        case .labelCountMismatch(let trueLabels, let predictedLabels):
            return "confusion matrix: \(trueLabels) true labels but \(predictedLabels) predicted labels"
        case .labelOutOfRange(let list, let position, let label, let classCount):
            return "confusion matrix: \(list) label \(label) at position \(position) is outside 0..<\(classCount)"
        }
    }
}

/// Report files written atomically (`AtomicFile`), a failure told as `ReportError.writeFailed`.
public enum ReportFile {
    /// Writes `data` to `url` atomically.
    /// - Throws: `ReportError.writeFailed` naming `url`.
    public static func write(_ data: Data, to url: URL) throws {
        do throws(AtomicFileError) {
            try AtomicFile.write(data, to: url)
        } catch {
            throw ReportError.writeFailed(file: error.path, reason: error.reason)
        }
    }

    /// Writes `text` as UTF-8 to `url` atomically.
    /// - Throws: `ReportError.writeFailed` naming `url`.
    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }
}
