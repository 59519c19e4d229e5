/// Errors of prototype construction, training and inference. Each names the input at fault.
public enum TrainerError: Error, CustomStringConvertible, Equatable {
    /// An input does not have the size or shape the operation needs.
    case shapeMismatch(input: String, expected: String, actual: String)
    /// An argument is out of range.
    case invalidArgument(name: String, message: String)
    /// A label lies outside `0 ..< classCount`.
    case labelOutOfRange(input: String, position: Int, label: Int, classCount: Int)
    /// An explicit batch order is not a permutation of the training rows.
    case invalidBatchOrder(epoch: Int, message: String)
    /// Training diverged: the loss or the trained keys (`quantity`) became NaN or infinite at
    /// `step` (1-based, of `stepsPerEpoch`) of `epoch` (1-based, of `epochs`).
    case nonFiniteTraining(quantity: String, epoch: Int, epochs: Int, step: Int, stepsPerEpoch: Int)

    public var description: String {
        switch self {
        case .shapeMismatch(let input, let expected, let actual):
            return "\(input) has \(actual), expected \(expected)"
        case .invalidArgument(let name, let message):
            return "\(name): \(message)"
        case .labelOutOfRange(let input, let position, let label, let classCount):
            return "\(input)[\(position)] = \(label) is outside 0..<\(classCount)"
        case .invalidBatchOrder(let epoch, let message):
            return "batch order of epoch \(epoch): \(message)"
        case .nonFiniteTraining(let quantity, let epoch, let epochs, let step, let stepsPerEpoch):
            return "training diverged: the \(quantity) became NaN or infinite at epoch \(epoch) of \(epochs), step \(step) of \(stepsPerEpoch) "
                + "(lower training.learning_rate, adapter.alpha or adapter.beta); nothing was written"
        }
    }
}

/// Checks that every label lies in `0 ..< classCount`.
func validateLabels(_ labels: [Int], classCount: Int, input: String) throws {
    if let position = labels.firstIndex(where: { $0 < 0 || $0 >= classCount }) {
        throw TrainerError.labelOutOfRange(input: input, position: position, label: labels[position], classCount: classCount)
    }
}
