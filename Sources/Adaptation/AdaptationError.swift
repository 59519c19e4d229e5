/// Errors of the adaptation methods and their label-free model selection.
public enum AdaptationError: Error, CustomStringConvertible, Equatable {
    /// A setting of a method is outside what it accepts.
    case invalidSetting(name: String, value: String, reason: String)
    /// Inputs disagree in size (features, pool, classes).
    case shapeMismatch(input: String, expected: String, actual: String)
    /// A number that must be finite is not (a logit, a score).
    case nonFinite(what: String)
    /// A selection rule picked no image at all.
    case emptySelection(rule: String)
    /// A criterion needs data the run did not provide (e.g. augmented views of the pool).
    case missingInput(criterion: String, input: String)

    public var description: String {
        switch self {
        case .invalidSetting(let name, let value, let reason):
            return "invalid setting \(name) = \(value): \(reason)"
        case .shapeMismatch(let input, let expected, let actual):
            return "\(input): expected \(expected), got \(actual)"
        case .nonFinite(let what):
            return "\(what) is not finite (NaN or infinite)"
        case .emptySelection(let rule):
            return "the selection rule \(rule) picked no image (lower the confidence threshold or raise K)"
        case .missingInput(let criterion, let input):
            return "criterion \(criterion) needs \(input), which this run did not provide"
        }
    }
}
