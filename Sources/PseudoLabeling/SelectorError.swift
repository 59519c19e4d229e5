/// Errors of zero-shot classification and confident selection. Each names the input at fault.
public enum SelectorError: Error, CustomStringConvertible, Equatable {
    /// An input does not have the size or shape the operation needs.
    case shapeMismatch(input: String, expected: String, actual: String)
    /// An argument is out of range.
    case invalidArgument(name: String, message: String)
    /// A class's averaged text embedding is the zero vector, so it has no direction.
    case degenerateClass(index: Int)

    public var description: String {
        switch self {
        case .shapeMismatch(let input, let expected, let actual):
            return "\(input) has \(actual), expected \(expected)"
        case .invalidArgument(let name, let message):
            return "\(name): \(message)"
        case .degenerateClass(let index):
            return "class \(index): the average of its normalised template embeddings is zero"
        }
    }
}
