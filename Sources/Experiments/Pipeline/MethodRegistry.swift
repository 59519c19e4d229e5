import Adaptation
import Datasets
import PrototypeTrainer
import Support

/// Builds the configured adaptation methods: the one place that maps a configuration's
/// `methods:` names and sections to `AdaptationMethod` values. A new method is one file in
/// `Sources/Adaptation/Methods/`, a case of `MethodName`, its config section, and a line here.
public enum MethodRegistry {
    /// The methods of `configuration`, in table order, with the name that asked for each.
    /// - Parameter poolLabels: true labels of the unlabeled split, given only to the supervised
    ///   baselines.
    public static func methods(for configuration: ExperimentConfiguration, poolLabels: [Int]) -> [(MethodName, any AdaptationMethod)] {
        let c = configuration
        let training = PrototypeFit(kind: c.prototypes.kind, head: c.adapter.head, training: c.training)
        let grid = (alphas: c.modelSelection.alphaGrid, betas: c.modelSelection.betaGrid, neighbourhoodSample: c.modelSelection.neighbourhoodSample)
        var methods = [(MethodName, any AdaptationMethod)]()
        for name in c.methods {
            switch name {
            case .zeroShot:
                methods.append((name, ZeroShotMethod()))
            case .paperRecipe:
                methods.append((name, UPAdapterMethod(
                    name: "UP-Adapter, paper's recipe (\(c.selection.rule), α \(formatNumber(c.adapter.alpha)), β \(formatNumber(c.adapter.beta)))",
                    rule: c.selection.rule, fit: training, headChoice: .fixed(c.adapter.head))))
            case .modelSelection:
                let shared = SharedModelSelection(ModelSelection(
                    rules: c.modelSelection.rules, alphas: grid.alphas, betas: grid.betas, criteria: c.modelSelection.criteria,
                    fit: training, heldOutFraction: c.modelSelection.heldOutFraction, neighbourhoodSample: c.modelSelection.neighbourhoodSample))
                for criterion in c.modelSelection.criteria {
                    methods.append((name, CriterionSelectedMethod(criterion: criterion, shared: shared)))
                }
            case .selfTraining:
                let headChoice: HeadChoice = c.selfTraining.criterion.map { .chosen(by: $0, alphas: grid.alphas, betas: grid.betas, neighbourhoodSample: grid.neighbourhoodSample) }
                    ?? .fixed(c.adapter.head)
                methods.append((name, SelfTrainingMethod(
                    name: "UP-Adapter + self-training (\(c.selfTraining.rounds) rounds, \(c.selfTraining.rule))",
                    rounds: c.selfTraining.rounds, rule: c.selfTraining.rule, fit: training, headChoice: headChoice)))
            case .tipAdapterPseudo:
                methods.append((name, TipAdapterPseudoMethod(
                    rule: c.selection.rule, headChoice: .chosen(by: .informationMaximization, alphas: grid.alphas, betas: grid.betas, neighbourhoodSample: grid.neighbourhoodSample))))
            case .priorTransport:
                methods.append((name, PriorTransportMethod(settings: c.priorTransport)))
            case .inMaP:
                methods.append((name, InMaPMethod(settings: c.inMaP)))
            case .transCLIP:
                for mode in c.transCLIPModes { methods.append((name, TransCLIPMethod(mode: mode, settings: c.transCLIP))) }
            case .zLaP:
                for mode in c.zLaPModes { methods.append((name, ZLaPMethod(mode: mode, settings: c.zLaP))) }
            case .supervised:
                for shots in c.baselines.supervisedShots {
                    methods.append((name, SupervisedTipAdapterMethod(shots: shots, head: c.adapter.head, training: nil, poolLabels: poolLabels)))
                    if c.baselines.supervisedFinetune {
                        methods.append((name, SupervisedTipAdapterMethod(shots: shots, head: c.adapter.head, training: c.training, poolLabels: poolLabels)))
                    }
                }
            }
        }
        return methods
    }
}
