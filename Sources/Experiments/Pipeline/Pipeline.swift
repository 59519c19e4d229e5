import CLIPEncoder
import Compute
import ConfidentSelector
import Foundation
import PrototypeTrainer

/// The version written into every run record.
public let upadapterVersion = "0.1.0"

/// What one run produced.
public struct PipelineResult: Sendable {
    /// `runs/<config>/<timestamp>/`.
    public let runDirectory: URL
    public let report: RunReport
    /// The plain-text results table printed at the end of a run.
    public let table: String
}

/// The whole UP-Adapter run of DESIGN.md "The method", steps 1–10, for one configuration:
/// text classifier → cached image features → zero-shot pseudo-labels → confident selection →
/// prototypes → (label-free α/β search) → training → evaluation of UP-Adapter and the baselines
/// on the test split → run directory with the resolved config, metrics, reports and adapter.
///
/// Test labels are read only to score methods after they are built; the unlabeled split's labels
/// only to score pseudo-labels and by the supervised N-shot baselines, which say so.
public struct Pipeline {
    public let configuration: ExperimentConfiguration
    /// The run's name: the config file's name without extension.
    public let name: String
    public let backend: any TrainingBackend
    public let progress: ProgressReporter

    public init(configuration: ExperimentConfiguration, name: String, backend: any TrainingBackend, progress: ProgressReporter) {
        self.configuration = configuration
        self.name = name
        self.backend = backend
        self.progress = progress
    }

    /// Runs every step and writes the run directory.
    /// - Throws: the first error of any module, which names the file, key or tensor at fault;
    ///   nothing is written to the run directory before the results are complete.
    public func run() throws -> PipelineResult {
        let c = configuration
        var phases: [String: Double] = [:]
        func timed<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
            let start = Date()
            defer { phases[phase, default: 0] += Date().timeIntervalSince(start) }
            return try body()
        }
        let started = Date()

        // Model and data.
        let model = try timed("load model") { try CLIPModel(directory: c.model.path, backend: backend) }
        progress.log("model \(c.model.path.path) on \(backend.name) (\(backend.deviceDescription))")
        let source = try c.dataset.makeSource()
        var unlabeled = try source.split(c.dataset.unlabeledSplit)
        var test = try source.split(c.dataset.testSplit)
        if let transform = c.dataset.transform {
            unlabeled = unlabeled.withTransform(transform)
            test = test.withTransform(transform)
        }
        let classNames = unlabeled.promptClassNames, classCount = classNames.count
        guard test.classNames.count == classCount else {
            throw ExperimentsError.classCountMismatch(source: "\(c.dataset.name) \(c.dataset.testSplit)", expected: classCount, actual: test.classNames.count)
        }
        progress.log("dataset \(c.dataset.name): \(unlabeled.items.count) unlabeled images (\(unlabeled.name)), "
                     + "\(test.items.count) test images (\(test.name)), \(classCount) classes")

        // 1. Text classifier.
        let textClassifier = try timed("text classifier") { try makeTextClassifier(model: model, classNames: classNames) }

        // 2. Image features (cached).
        let unlabeledFeatures = try timed("features") { try features(of: unlabeled, model: model, view: 0) }
        let testFeatures = try timed("features") { try features(of: test, model: model, view: 0) }

        // 3–4. Zero-shot pseudo-labels and confident selection.
        let logitScale = c.adapter.logitScale.map(Float.init) ?? model.learnedLogitScale ?? 100
        progress.log(String(format: "zero-shot logit scale %.4g (%@)", logitScale,
                            c.adapter.logitScale != nil ? "configured" : (model.learnedLogitScale != nil ? "the checkpoint's exp(logit_scale)" : "default")))
        let zeroShot = try ZeroShotClassifier(backend: backend, classifier: textClassifier, logitScale: logitScale)
        let pseudo = try timed("selection") { try zeroShot.predict(features: unlabeledFeatures) }
        let selection = try ConfidentSelector.select(
            pseudo, classCount: classCount,
            configuration: SelectionConfiguration(perClass: c.selection.topK, minimumConfidence: c.selection.minConfidence.map(Float.init)))
        guard selection.count > 0 else {
            throw ExperimentsError.invalidValue(keyPath: "selection", file: c.sourceFile?.path ?? name, value: "\(c.selection.topK)",
                                                reason: "no image was selected (check top_k and min_confidence)")
        }
        let unlabeledTruth = unlabeled.labels
        let selectionPrecision = try selection.precision(trueLabels: unlabeledTruth)
        progress.log(String(format: "selected %d images (%d per class at most), pseudo-label precision %.2f%% (labels used for reporting only)",
                            selection.count, c.selection.topK, 100 * selectionPrecision))

        // 5. Prototypes from the selected features, averaged over augmented views if asked.
        let selectedFeatures = try timed("features") { try selectedViews(unlabeled: unlabeled, base: unlabeledFeatures, selection: selection, model: model) }
        let kind: PrototypeKind = c.prototypes.kind == .mean ? .mean : .cache
        let training = trainingConfiguration(kind: kind)

        // 9. α, β: configured, or searched without labels on held-out selected images.
        var head = HeadParameters(alpha: Float(c.adapter.alpha), beta: Float(c.adapter.beta))
        var searchRecord: LabelFreeSearchRecord?
        if c.adapter.search.enabled {
            let search = AlphaBetaSearch(
                alphas: c.adapter.search.alphaGrid.map(Float.init), betas: c.adapter.search.betaGrid.map(Float.init),
                heldOutFraction: c.adapter.search.holdoutFraction, seed: UInt64(c.training.seed))
            let result = try timed("alpha-beta search") {
                try search.run(textClassifier: textClassifier.weights, features: selectedFeatures, pseudoLabels: selection.pseudoLabels,
                               kind: kind, initialHead: head, training: training, backend: backend, logitScale: logitScale)
            }
            head = result.best.head
            let heldOut = try search.split(labels: selection.pseudoLabels).heldOut.count
            searchRecord = LabelFreeSearchRecord(
                candidates: result.grid.map {
                    .init(alpha: Double($0.head.alpha), beta: Double($0.head.beta), holdoutAccuracy: $0.accuracy, holdoutCrossEntropy: $0.crossEntropy)
                },
                chosenAlpha: Double(head.alpha), chosenBeta: Double(head.beta), holdoutSize: heldOut,
                criterion: "highest held-out pseudo-label accuracy, then lowest held-out cross-entropy", usedTestLabels: false)
            progress.log("label-free search chose α \(head.alpha), β \(head.beta) on \(heldOut) held-out pseudo-labeled images")
        }

        // 6–8. Prototype model, fused with zero-shot, trained on the pseudo-labels.
        let prototypes = kind == .mean
            ? try Prototypes.mean(features: selectedFeatures, labels: selection.pseudoLabels, textClassifier: textClassifier.weights)
            : try Prototypes.cache(features: selectedFeatures, labels: selection.pseudoLabels, classCount: classCount)
        let initial = try AdaptedClassifier(textClassifier: textClassifier.weights, prototypes: prototypes, head: head, logitScale: logitScale)
        progress.log("training \(kind.rawValue) prototypes: \(c.training.epochs) epochs on \(selection.count) pseudo-labeled images")
        let trained = try timed("training") {
            try PrototypeTrainer(backend: backend).train(initial, features: selectedFeatures, labels: selection.pseudoLabels, configuration: training)
        }

        // 10. Evaluation on the test split (labels used for scoring only), and the baselines.
        let testTruth = test.labels
        var methods: [MethodResult] = []
        try timed("evaluation") {
            let zeroShotTest = try zeroShot.predict(features: testFeatures).labels
            methods.append(MethodResult(name: "Zero-shot CLIP", kind: .zeroShot, usesLabels: false,
                                        confusion: try ConfusionMatrix(trueLabels: testTruth, predictedLabels: zeroShotTest, classCount: classCount)))
            let adapted = try trained.classifier.predict(features: testFeatures, backend: backend)
            methods.append(MethodResult(
                name: "UP-Adapter", kind: .upAdapter, usesLabels: false,
                confusion: try ConfusionMatrix(trueLabels: testTruth, predictedLabels: adapted, classCount: classCount),
                alpha: Double(head.alpha), beta: Double(head.beta), trainingLosses: trained.epochLosses.map(Double.init)))
            if c.baselines.tipAdapterPseudo {
                let tip = try Baselines.tipAdapter(textClassifier: textClassifier.weights, features: selectedFeatures,
                                                   labels: selection.pseudoLabels, head: head, logitScale: logitScale)
                methods.append(MethodResult(
                    name: "Tip-Adapter (pseudo-labels, training-free)", kind: .baseline, usesLabels: false,
                    confusion: try ConfusionMatrix(trueLabels: testTruth, predictedLabels: try tip.predict(features: testFeatures, backend: backend), classCount: classCount),
                    alpha: Double(head.alpha), beta: Double(head.beta)))
            }
            methods += try supervisedBaselines(unlabeledFeatures: unlabeledFeatures, unlabeledTruth: unlabeledTruth, textClassifier: textClassifier,
                                               testFeatures: testFeatures, testTruth: testTruth, classCount: classCount, logitScale: logitScale)
        }

        // Records.
        let perClassPrecision = (0..<classCount).map { label -> Double in
            let picked = zip(selection.indices, selection.pseudoLabels).filter { $0.1 == label }
            return picked.isEmpty ? 0 : Double(picked.filter { unlabeledTruth[$0.0] == label }.count) / Double(picked.count)
        }
        let selectedSet = Set(selection.indices)
        let rejected = pseudo.confidences.enumerated().filter { !selectedSet.contains($0.offset) }.map(\.element)
        let summary = RunSummary(
            configurationName: name, configurationPath: c.sourceFile?.path ?? "", timestamp: RunSummary.timestamp(for: started),
            seed: c.training.seed, deviceName: backend.name, deviceDescription: backend.deviceDescription, toolVersion: upadapterVersion,
            modelDirectory: c.model.path.path, modelDigest: model.digest, datasetName: c.dataset.name,
            unlabeledSplit: unlabeled.name, unlabeledCount: unlabeled.items.count, testSplit: test.name, testCount: test.items.count,
            classNames: classNames, phaseSeconds: phases, labelFreeSearch: searchRecord,
            notes: ["zero-shot logit scale \(logitScale)"] + (c.dataset.transform.map { ["image transform: \($0)"] } ?? []))
        let report = RunReport(
            summary: summary,
            selection: SelectionSummary(
                topK: c.selection.topK, minConfidence: c.selection.minConfidence, selectedCount: selection.count,
                selectedPerClass: selection.perClassCounts, precision: selectionPrecision, perClassPrecision: perClassPrecision,
                selectedConfidences: selection.confidences, rejectedConfidences: Self.subsample(rejected, limit: 20_000)),
            methods: methods)
        let directory = try writeRun(report: report, classifier: trained.classifier, classNames: classNames, started: started)
        return PipelineResult(runDirectory: directory, report: report, table: resultsTable(report))
    }

    // MARK: Steps

    /// `W`: per class, the templates' embeddings normalised, averaged and normalised again.
    func makeTextClassifier(model: CLIPModel, classNames: [String]) throws -> TextClassifier {
        let templates = c.prompts.templates
        let prompts = classNames.flatMap { name in templates.map { $0.replacingOccurrences(of: "{}", with: name) } }
        var embeddings: [Float] = []
        for start in stride(from: 0, to: prompts.count, by: 256) {
            embeddings += try model.encodeTexts(Array(prompts[start..<min(start + 256, prompts.count)]), truncate: true, normalize: true)
        }
        return try TextClassifier(templateEmbeddings: embeddings, classCount: classNames.count,
                                  templateCount: templates.count, dimension: model.embeddingSize)
    }

    private var c: ExperimentConfiguration { configuration }

    /// Normalised features of every item of `split`, from the cache or extracted into it.
    func features(of split: DatasetSplit, model: CLIPModel, view: Int) throws -> HostMatrix {
        let label = view == 0 ? "\(split.name) features" : "\(split.name) view \(view)"
        progress.begin(label, total: split.items.count)
        let set = try c.featureCache.extract(split: split, model: model, view: view, progress: { done, _ in progress.update(done) })
        progress.update(split.items.count)  // a cache hit reports no batches
        return try HostMatrix(values: set.features, rows: set.count, columns: set.dimension)
    }

    /// The selected images' features, averaged with `augment_views` augmented views of them.
    func selectedViews(unlabeled: DatasetSplit, base: HostMatrix, selection: ConfidentSelection, model: CLIPModel) throws -> HostMatrix {
        let selected = try base.rows(at: selection.indices)
        let views = c.prototypes.augmentViews
        guard views > 0 else { return selected }
        var subset = unlabeled
        subset.name = unlabeled.name + "-selected"
        subset.items = selection.indices.map { unlabeled.items[$0] }
        var all = selected.values
        for view in 1...views { all += try features(of: subset, model: model, view: view).values }
        return try FeatureViews.average(all, viewCount: views + 1, imageCount: selected.rows, dimension: selected.columns)
    }

    func trainingConfiguration(kind: PrototypeKind) -> TrainingConfiguration {
        TrainingConfiguration(
            epochs: c.training.epochs, batchSize: c.training.batchSize, learningRate: Float(c.training.learningRate),
            epsilon: Float(c.training.eps), weightDecay: Float(c.training.weightDecay), seed: UInt64(c.training.seed))
    }

    /// Supervised N-shot Tip-Adapter (and -F) with true labels of the unlabeled split: the
    /// label-using comparison points of the report.
    func supervisedBaselines(unlabeledFeatures: HostMatrix, unlabeledTruth: [Int], textClassifier: TextClassifier,
                             testFeatures: HostMatrix, testTruth: [Int], classCount: Int, logitScale: Float) throws -> [MethodResult] {
        var results: [MethodResult] = []
        let head = HeadParameters(alpha: Float(c.adapter.alpha), beta: Float(c.adapter.beta))
        for shots in c.baselines.supervisedShots where shots > 0 {
            let positions = try Baselines.sampleShots(labels: unlabeledTruth, shots: shots, seed: UInt64(c.training.seed))
            let features = try unlabeledFeatures.rows(at: positions), labels = positions.map { unlabeledTruth[$0] }
            let tip = try Baselines.tipAdapter(textClassifier: textClassifier.weights, features: features, labels: labels, head: head, logitScale: logitScale)
            results.append(MethodResult(
                name: "Tip-Adapter \(shots)-shot (labels)", kind: .baseline, usesLabels: true, shots: shots,
                confusion: try ConfusionMatrix(trueLabels: testTruth, predictedLabels: try tip.predict(features: testFeatures, backend: backend), classCount: classCount),
                alpha: Double(head.alpha), beta: Double(head.beta)))
            if c.baselines.supervisedFinetune {
                let tuned = try Baselines.tipAdapterF(textClassifier: textClassifier.weights, features: features, labels: labels, head: head,
                                                      configuration: trainingConfiguration(kind: .cache), backend: backend, logitScale: logitScale)
                results.append(MethodResult(
                    name: "Tip-Adapter-F \(shots)-shot (labels)", kind: .baseline, usesLabels: true, shots: shots,
                    confusion: try ConfusionMatrix(trueLabels: testTruth, predictedLabels: try tuned.classifier.predict(features: testFeatures, backend: backend), classCount: classCount),
                    alpha: Double(head.alpha), beta: Double(head.beta), trainingLosses: tuned.epochLosses.map(Double.init)))
            }
        }
        return results
    }

    /// At most `limit` values, evenly spaced (deterministic).
    static func subsample(_ values: [Float], limit: Int) -> [Float] {
        guard values.count > limit else { return values }
        return (0..<limit).map { values[$0 * values.count / limit] }
    }
}
