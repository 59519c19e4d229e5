import Compute
import Foundation

/// A score of a candidate classifier computed without any label, used to choose K, α and β.
/// Higher is better for every criterion.
public enum LabelFreeCriterion: String, Sendable, CaseIterable, Codable {
    /// Accuracy against their pseudo-labels of selected images held out from building and
    /// training the prototypes (cross-entropy breaks ties). Kept for reference: the held-out
    /// pseudo-labels are zero-shot's own predictions, so it favours staying close to zero-shot.
    case heldOutPseudoLabels = "held_out_pseudo_labels"
    /// Information maximisation on the unlabeled pool: the entropy of the mean prediction minus
    /// the mean entropy of the predictions, `H(p̄) − mean H(p)` (confident and class-balanced).
    case informationMaximization = "information_maximization"
    /// Soft neighbourhood density (Saito et al., ICCV 2021): the mean entropy of each sample's
    /// softmax similarity (temperature 0.05) to the other samples, computed on the normalised
    /// probability vectors of a sample of the pool; dense, consistent clusters score high.
    case softNeighbourhoodDensity = "soft_neighbourhood_density"
    /// Agreement between augmented views: the mean probability that the predictions of an
    /// image and of an augmented view of it name the same class, `mean Σ_c p_c(x) p_c(x')`.
    case viewAgreement = "view_agreement"

    /// Short name for tables.
    public var shortName: String {
        switch self {
        case .heldOutPseudoLabels: return "held-out pseudo-labels"
        case .informationMaximization: return "information maximisation"
        case .softNeighbourhoodDensity: return "soft neighbourhood density"
        case .viewAgreement: return "view agreement"
        }
    }

    /// The criterion `name` names: its configuration spelling, or an older one still accepted
    /// (`soft_neighborhood_density`).
    public init?(named name: String) {
        self.init(rawValue: Self.aliases[name] ?? name)
    }

    /// Older spellings of criterion names, by the name they stand for now.
    public static let aliases = ["soft_neighborhood_density": LabelFreeCriterion.softNeighbourhoodDensity.rawValue]

    /// Whether the criterion scores classifiers on the pool (all but the held-out one, which
    /// needs its own trainings on part of the selection).
    public var scoresPool: Bool { self != .heldOutPseudoLabels }
}

/// The scores of the pool criteria, from class probabilities.
public enum CriterionScores {
    /// `H(p̄) − mean_i H(p_i)` of `probabilities` `[samples, classes]`, in nats.
    public static func informationMaximization(_ probabilities: HostMatrix) -> Double {
        let rows = probabilities.rows, classes = probabilities.columns
        guard rows > 0 else { return 0 }
        var mean = [Double](repeating: 0, count: classes), conditional = 0.0
        for row in 0..<rows {
            for column in 0..<classes {
                let p = Double(probabilities.values[row * classes + column])
                mean[column] += p
                if p > 0 { conditional -= p * Foundation.log(p) }
            }
        }
        var marginal = 0.0
        for column in 0..<classes {
            let p = mean[column] / Double(rows)
            if p > 0 { marginal -= p * Foundation.log(p) }
        }
        return marginal - conditional / Double(rows)
    }

    /// Soft neighbourhood density of `probabilities` `[samples, classes]` with `temperature`:
    /// rows are L2-normalised, each row's similarities to the other rows divided by the
    /// temperature go through a softmax, and the entropies of those distributions are averaged.
    public static func softNeighbourhoodDensity(_ probabilities: HostMatrix, temperature: Double = 0.05) -> Double {
        let rows = probabilities.rows, classes = probabilities.columns
        guard rows > 1 else { return 0 }
        var unit = [Double](repeating: 0, count: rows * classes)
        for row in 0..<rows {
            var norm = 0.0
            for column in 0..<classes { norm += Double(probabilities.values[row * classes + column]) * Double(probabilities.values[row * classes + column]) }
            let inverse = norm > 0 ? 1 / norm.squareRoot() : 0
            for column in 0..<classes { unit[row * classes + column] = Double(probabilities.values[row * classes + column]) * inverse }
        }
        var total = 0.0
        var similarity = [Double](repeating: 0, count: rows)
        for row in 0..<rows {
            var maximum = -Double.infinity
            for other in 0..<rows where other != row {
                var dot = 0.0
                for column in 0..<classes { dot += unit[row * classes + column] * unit[other * classes + column] }
                similarity[other] = dot / temperature
                maximum = max(maximum, similarity[other])
            }
            var sum = 0.0
            for other in 0..<rows where other != row { sum += Foundation.exp(similarity[other] - maximum) }
            // H = log Σ e^{s} − Σ softmax · s, with s shifted by the maximum.
            var weighted = 0.0
            for other in 0..<rows where other != row {
                let shifted = similarity[other] - maximum
                weighted += Foundation.exp(shifted) / sum * shifted
            }
            total += Foundation.log(sum) - weighted
        }
        return total / Double(rows)
    }

    /// `mean_i Σ_c p_c(x_i) · p_c(x'_i)` of two aligned probability matrices `[samples, classes]`.
    public static func viewAgreement(_ base: HostMatrix, _ view: HostMatrix) -> Double {
        guard base.rows > 0, base.rows == view.rows, base.columns == view.columns else { return 0 }
        var total = 0.0
        for index in 0..<base.values.count { total += Double(base.values[index]) * Double(view.values[index]) }
        return total / Double(base.rows)
    }
}
