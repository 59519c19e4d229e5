import Compute

/// The methods UPAdapter is compared with, built from the same head and trainer.
public enum Baselines {
    /// Training-free Tip-Adapter: a cache of `features` `[samples, dim]` with one-hot `labels`
    /// (pseudo-labels of the selected images, or true labels of N-shot samples), not trained.
    public static func tipAdapter(
        textClassifier: HostMatrix, features: HostMatrix, labels: [Int], head: HeadParameters, logitScale: Float
    ) throws -> AdaptedClassifier {
        try Prototypes.requireCompatible(features: features, labels: labels, textClassifier: textClassifier)
        let cache = try Prototypes.cache(features: features, labels: labels, classCount: textClassifier.rows)
        return try AdaptedClassifier(textClassifier: textClassifier, prototypes: cache, head: head, logitScale: logitScale)
    }

    /// Tip-Adapter-F: the Tip-Adapter cache with its keys trained on the same samples.
    public static func tipAdapterF(
        textClassifier: HostMatrix, features: HostMatrix, labels: [Int], head: HeadParameters,
        configuration: TrainingConfiguration, backend: any TrainingBackend, logitScale: Float
    ) throws -> TrainingResult {
        let classifier = try tipAdapter(textClassifier: textClassifier, features: features, labels: labels, head: head, logitScale: logitScale)
        return try PrototypeTrainer(backend: backend).train(classifier, features: features, labels: labels, configuration: configuration)
    }

    /// `shots` sample positions per class drawn with `seed` from `labels` (true labels of the
    /// training split), sorted; a class with fewer samples gives all it has.
    public static func sampleShots(labels: [Int], shots: Int, seed: UInt64) throws -> [Int] {
        guard shots >= 0 else { throw TrainerError.invalidArgument(name: "shots", message: "\(shots) must not be negative") }
        var generator = SeededGenerator(seed: seed)
        var byClass: [Int: [Int]] = [:]
        for (position, label) in labels.enumerated() { byClass[label, default: []].append(position) }
        var chosen = [Int]()
        for label in byClass.keys.sorted() {
            let positions = byClass[label] ?? []
            let order = Schedule.permutation(positions.count, using: &generator)
            chosen += order.prefix(shots).map { positions[$0] }
        }
        return chosen.sorted()
    }
}
