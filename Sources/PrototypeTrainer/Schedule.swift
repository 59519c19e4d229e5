import Compute
import Foundation

/// The order in which training rows are visited.
public enum BatchOrder: Sendable, Equatable {
    /// A fresh permutation every epoch, drawn from `SeededGenerator(seed:)` of the configuration.
    case shuffled
    /// The rows in their given order every epoch.
    case sequential
    /// One permutation of the training rows per epoch, given explicitly (for parity checks).
    case explicit([[Int]])
}

/// Learning rate and row order of every step.
enum Schedule {
    /// Cosine decay without restarts, per step: `lr_t = lr · (1 + cos(π t / T)) / 2` for
    /// `t = 0 ..< T` steps taken before this one (PyTorch's `CosineAnnealingLR` with `T_max = T`,
    /// `eta_min = 0`, stepped after every optimiser step).
    static func cosine(_ learningRate: Float, step: Int, totalSteps: Int) -> Float {
        guard totalSteps > 0 else { return learningRate }
        return Float(Double(learningRate) * (1 + cos(Double.pi * Double(step) / Double(totalSteps))) / 2)
    }

    /// A uniformly random permutation of `0 ..< count` (Fisher–Yates, drawing each position with
    /// `Int.random(in:using:)`).
    static func permutation(_ count: Int, using generator: inout SeededGenerator) -> [Int] {
        var order = Array(0..<count)
        guard count > 1 else { return order }
        for position in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(position, Int.random(in: 0...position, using: &generator))
        }
        return order
    }

    /// The row order of every epoch.
    /// - Throws: `TrainerError.invalidBatchOrder` when an explicit order has the wrong epoch count
    ///   or is not a permutation of the rows.
    static func epochOrders(_ order: BatchOrder, rows: Int, epochs: Int, seed: UInt64) throws -> [[Int]] {
        switch order {
        case .sequential:
            return Array(repeating: Array(0..<rows), count: epochs)
        case .shuffled:
            var generator = SeededGenerator(seed: seed)
            return (0..<epochs).map { _ in permutation(rows, using: &generator) }
        case .explicit(let orders):
            guard orders.count == epochs else {
                throw TrainerError.invalidBatchOrder(epoch: orders.count, message: "\(orders.count) epochs given, \(epochs) configured")
            }
            for (epoch, order) in orders.enumerated() where order.sorted() != Array(0..<rows) {
                throw TrainerError.invalidBatchOrder(epoch: epoch, message: "not a permutation of 0..<\(rows)")
            }
            return orders
        }
    }
}
