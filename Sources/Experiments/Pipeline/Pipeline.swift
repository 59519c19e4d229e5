import Adaptation
import CLIPEncoder
import Compute
import PseudoLabeling
import Datasets
import Foundation
import PrototypeTrainer
import Reports
import Support

/// What one run produced.
public struct PipelineResult: Sendable {
    /// `runs/<config>/<timestamp>/`.
    public let runDirectory: URL
    public let report: RunReport
    /// The plain-text results table printed at the end of a run.
    public let table: String
}

/// One configured run of the method the README opens with (zero-shot pseudo-labels, the most
/// confident per class as prototypes, the prototypes tuned, added to CLIP residually; every
/// setting in docs/configuration.md), as a sequence of stages:
///
/// 1. **inputs**: the model, the unlabeled and test splits;
/// 2. **features**: the text classifier and the (cached) image features;
/// 3. **pseudo-labels**: zero-shot predictions of the pool, the scoring sample (and its
///    augmented views when a criterion needs them) — the `AdaptationContext`;
/// 4. **methods**: every configured `AdaptationMethod` builds its classifier from the context;
/// 5. **evaluation**: test accuracy of every method (and, for analysis, of every model-selection
///    candidate and self-training round), computed after the methods finished;
/// 6. **run folder**: resolved config, metrics, reports and the primary method's adapter.
///
/// Test labels are read only in stage 5; the unlabeled split's labels only to report
/// pseudo-label precision and by the supervised baselines, which say so.
public struct Pipeline: Sendable {
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

    /// Wall-clock seconds per phase.
    final class PhaseClock: @unchecked Sendable {
        private(set) var seconds: [String: Double] = [:]
        func time<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
            let start = Date()
            defer { seconds[phase, default: 0] += Date().timeIntervalSince(start) }
            return try body()
        }
    }

    /// Stage 1's output.
    struct Inputs {
        let model: CLIPModel
        /// The splits as the run uses them (after `dataset.class_profile`).
        let unlabeled: DatasetSplit
        let test: DatasetSplit
        let classNames: [String]
        /// Where their feature rows come from: the cached full splits and the kept positions.
        var unlabeledRows = SplitRows.all
        var testRows = SplitRows.all
    }

    /// The rows of a split's feature matrix a run uses: features are extracted (and cached) for
    /// the whole split as the source reads it, then `dataset.class_profile` keeps some rows, so a
    /// profile never invalidates the cache or encodes an image twice.
    struct SplitRows {
        /// The whole split, whose items key the feature cache (nil: the split the run uses).
        var full: DatasetSplit?
        /// Positions in `full` of the rows kept, ascending (nil: every row).
        var positions: [Int]?

        static let all = SplitRows(full: nil, positions: nil)
    }

    /// A method's outcome with its time.
    struct Adapted {
        let key: MethodName
        let method: any AdaptationMethod
        let outcome: AdaptationOutcome
        let seconds: Double
    }

    /// Runs every stage and writes the run directory.
    /// - Throws: the first error of any module, which names the file, key or tensor at fault;
    ///   nothing is written to the run directory before the results are complete.
    public func run() throws -> PipelineResult {
        let clock = PhaseClock()
        let started = Date()
        let inputs = try clock.time("load model") { try loadInputs() }
        let textClassifier = try clock.time("text classifier") { try makeTextClassifier(model: inputs.model, classNames: inputs.classNames) }
        let poolFeatures = try clock.time("features") {
            try features(of: inputs.unlabeledRows.full ?? inputs.unlabeled, model: inputs.model, view: 0, keeping: inputs.unlabeledRows.positions)
        }
        let testFeatures = try clock.time("features") {
            try features(of: inputs.testRows.full ?? inputs.test, model: inputs.model, view: 0, keeping: inputs.testRows.positions)
        }
        let context = try clock.time("pseudo-labels") {
            try adaptationContext(inputs: inputs, textClassifier: textClassifier, pool: poolFeatures)
        }
        let adapted = try adapt(context, poolLabels: inputs.unlabeled.labels, clock: clock)
        let report = try clock.time("evaluation") {
            try evaluate(adapted, context: context, inputs: inputs, testFeatures: testFeatures, started: started)
        }
        var timed = report
        timed.summary.phaseSeconds = clock.seconds
        let primary = adapted.first { $0.key == c.primaryMethod }?.outcome.adapter
        let directory = try writeRun(report: timed, classifier: primary, classNames: inputs.classNames, started: started)
        return PipelineResult(runDirectory: directory, report: timed, table: resultsTable(timed))
    }

    // MARK: Stages

    /// Stage 1: the model and both splits, transformed as configured.
    func loadInputs() throws -> Inputs {
        let model = try CLIPModel(directory: c.model.path, backend: backend)
        progress.log("model \(c.model.path.path) on \(backend.name) (\(backend.deviceDescription))")
        let source = try c.dataset.makeSource()
        var unlabeled = try source.split(c.dataset.unlabeledSplit)
        var test = try source.split(c.dataset.testSplit)
        if let transform = c.dataset.transform {
            unlabeled = unlabeled.withTransform(transform)
            test = test.withTransform(transform)
        }
        let classNames = unlabeled.promptClassNames
        guard test.classNames.count == classNames.count else {
            throw ExperimentsError.classCountMismatch(source: "\(c.dataset.name) \(c.dataset.testSplit)", expected: classNames.count, actual: test.classNames.count)
        }
        guard !unlabeled.items.isEmpty else {
            throw ExperimentsError.invalidValue(keyPath: "dataset.unlabeled_split", file: c.sourceFile?.path ?? name,
                                                value: c.dataset.unlabeledSplit, reason: "the split holds no image")
        }
        guard let profile = c.dataset.classProfile else {
            progress.log("dataset \(c.dataset.name): \(unlabeled.items.count) unlabeled images (\(unlabeled.name)), "
                         + "\(test.items.count) test images (\(test.name)), \(classNames.count) classes")
            return Inputs(model: model, unlabeled: unlabeled, test: test, classNames: classNames)
        }
        let keptUnlabeled = try unlabeled.applying(profile), keptTest = try test.applying(profile)
        for kept in [keptUnlabeled.split, keptTest.split] where kept.items.isEmpty {
            throw ExperimentsError.invalidValue(keyPath: "dataset.class_profile", file: c.sourceFile?.path ?? name, value: profile.description,
                                                reason: "keeps no image of split '\(kept.name)' (a class without images makes every share 0)")
        }
        progress.log("dataset \(c.dataset.name): \(keptUnlabeled.split.items.count) of \(unlabeled.items.count) unlabeled images (\(unlabeled.name)), "
                     + "\(keptTest.split.items.count) of \(test.items.count) test images (\(test.name)), \(classNames.count) classes, "
                     + "class profile \(profile)")
        return Inputs(model: model, unlabeled: keptUnlabeled.split, test: keptTest.split, classNames: classNames,
                      unlabeledRows: SplitRows(full: unlabeled, positions: keptUnlabeled.positions),
                      testRows: SplitRows(full: test, positions: keptTest.positions))
    }

    /// Stage 3: zero-shot predictions of the pool, the scoring sample and what the methods share.
    func adaptationContext(inputs: Inputs, textClassifier: TextClassifier, pool: HostMatrix) throws -> AdaptationContext {
        let logitScale = c.adapter.logitScale.map(Float.init) ?? inputs.model.learnedLogitScale ?? ExperimentConfiguration.Adapter.fallbackLogitScale
        progress.log(String(format: "zero-shot logit scale %.4g (%@)", logitScale,
                            c.adapter.logitScale != nil ? "configured" : (inputs.model.learnedLogitScale != nil ? "the checkpoint's exp(logit_scale)" : "default")))
        let zeroShot = try ZeroShotClassifier(backend: backend, classifier: textClassifier, logitScale: logitScale)
        let predictions = try zeroShot.predict(features: pool)
        let sample = AdaptationContext.sample(poolSize: pool.rows, count: c.modelSelection.scoringSample, seed: c.training.seed &+ 7)
        var sampleViews: HostMatrix?
        if c.methods.contains(.modelSelection), c.modelSelection.criteria.contains(.viewAgreement) {
            var subset = inputs.unlabeled
            subset.name = inputs.unlabeled.name + "-scoring-sample"
            subset.items = sample.map { inputs.unlabeled.items[$0] }
            sampleViews = try features(of: subset, model: inputs.model, view: 1)
        }
        let augmented: (@Sendable ([Int]) throws -> HostMatrix)?
        if c.prototypes.augmentViews > 0 {
            let pipeline = self, model = inputs.model, unlabeled = inputs.unlabeled
            augmented = { positions in try pipeline.averagedViews(positions, unlabeled: unlabeled, base: pool, model: model) }
        } else {
            augmented = nil
        }
        let progress = self.progress
        return try AdaptationContext(
            textClassifier: textClassifier.weights, logitScale: logitScale, pool: pool, zeroShotPredictions: predictions,
            scoringSample: sample, scoringSampleViews: sampleViews, augmentedFeatures: augmented, backend: backend,
            seed: c.training.seed, log: { progress.log($0) })
    }

    /// Stage 4: every configured method, in table order.
    func adapt(_ context: AdaptationContext, poolLabels: [Int], clock: PhaseClock) throws -> [Adapted] {
        var results = [Adapted]()
        for (key, method) in MethodRegistry.methods(for: c, poolLabels: poolLabels) {
            let start = Date()
            let outcome = try clock.time("method: \(method.name)") { try method.adapt(context) }
            results.append(Adapted(key: key, method: method, outcome: outcome, seconds: Date().timeIntervalSince(start)))
        }
        return results
    }

    /// Stage 5: test accuracy of every method (labels used for scoring only), the analysis
    /// accuracies of rounds and candidates, and the run's records.
    func evaluate(_ adapted: [Adapted], context: AdaptationContext, inputs: Inputs, testFeatures: HostMatrix, started: Date) throws -> RunReport {
        let testTruth = inputs.test.labels, poolTruth = inputs.unlabeled.labels, classCount = inputs.classNames.count
        /// Top-1 and balanced test accuracy of an analysis classifier (a round, a candidate).
        func accuracies(_ classifier: any ProbabilisticClassifier) throws -> (top1: Double, balanced: Double) {
            let predicted = try classifier.predictions(features: testFeatures, backend: backend).labels
            let confusion = try ConfusionMatrix(trueLabels: testTruth, predictedLabels: predicted, classCount: classCount)
            return testTruth.isEmpty ? (0, 0) : (confusion.accuracy, confusion.balancedAccuracy)
        }
        var methods = [MethodResult]()
        var modelSelection: ModelSelectionRecord?
        for entry in adapted {
            let outcome = entry.outcome
            let predicted = try outcome.classifier.predictions(features: testFeatures, backend: backend).labels
            let kind: MethodKind = entry.key == .zeroShot ? .zeroShot : (entry.key == c.primaryMethod ? .upAdapter : .baseline)
            var details = outcome.notes
            if let selection = outcome.selection {
                details.append(String(format: "pseudo-label precision of the selection %.2f%%, balanced accuracy %.2f%% (labels used for reporting only)",
                                      100 * (try selection.precision(trueLabels: poolTruth)),
                                      100 * (try selection.balancedAccuracy(trueLabels: poolTruth))))
            }
            let rounds = try outcome.rounds.count > 1 ? outcome.rounds.enumerated().map { index, round in
                let test = try accuracies(round.classifier)
                return RoundRecord(
                    round: index + 1, rule: round.rule.description, selectedCount: round.selection.count,
                    pseudoLabelPrecision: try round.selection.precision(trueLabels: poolTruth),
                    pseudoLabelBalancedAccuracy: try round.selection.balancedAccuracy(trueLabels: poolTruth),
                    changedPseudoLabels: round.changedPseudoLabels, testAccuracy: test.top1, testBalancedAccuracy: test.balanced)
            } : nil
            methods.append(MethodResult(
                name: entry.method.name, kind: kind, usesLabels: entry.method.usesLabels,
                shots: entry.method.labeledShots,
                confusion: try ConfusionMatrix(trueLabels: testTruth, predictedLabels: predicted, classCount: classCount),
                alpha: outcome.adapter.map { Double($0.head.alpha) }, beta: outcome.adapter.map { Double($0.head.beta) },
                trainingLosses: outcome.trainingLosses.isEmpty ? nil : outcome.trainingLosses.map(Double.init),
                details: details, rounds: rounds))
            if modelSelection == nil, let selection = outcome.modelSelection {
                modelSelection = ModelSelectionRecord(
                    candidates: try selection.candidates.map { candidate in
                        let test = try accuracies(candidate.classifier)
                        return .init(rule: candidate.rule.description, selectedCount: candidate.selectedCount,
                                     alpha: Double(candidate.head.alpha), beta: Double(candidate.head.beta),
                                     scores: Dictionary(uniqueKeysWithValues: candidate.scores.map { ($0.key.rawValue, $0.value) }),
                                     testAccuracy: test.top1, testBalancedAccuracy: test.balanced)
                    },
                    choices: Dictionary(uniqueKeysWithValues: selection.choices.map { ($0.key.rawValue, $0.value) }),
                    scoringSampleSize: selection.scoringSampleSize)
            }
        }

        // The paper's confident selection of the zero-shot pseudo-labels, for the selection section.
        let selection = try c.selection.rule.select(context.zeroShotPredictions, classCount: classCount)
        let precision = try selection.precision(trueLabels: poolTruth)
        let perClassPrecision = (0..<classCount).map { label -> Double in
            let picked = zip(selection.indices, selection.pseudoLabels).filter { $0.1 == label }
            return picked.isEmpty ? .nan : Double(picked.filter { poolTruth[$0.0] == label }.count) / Double(picked.count)
        }
        let selectedSet = Set(selection.indices)
        let rejected = context.zeroShotPredictions.confidences.enumerated().filter { !selectedSet.contains($0.offset) }.map(\.element)
        let summary = RunSummary(
            configurationName: name, configurationPath: c.sourceFile?.path ?? "", timestamp: RunSummary.timestamp(for: started),
            seed: Int(clamping: c.training.seed), deviceName: backend.name, deviceDescription: backend.deviceDescription, toolVersion: upadapterVersion,
            modelDirectory: c.model.path.path, modelDigest: inputs.model.digest, datasetName: c.dataset.name,
            unlabeledSplit: inputs.unlabeled.name, unlabeledCount: inputs.unlabeled.items.count, testSplit: inputs.test.name,
            testCount: inputs.test.items.count, classNames: inputs.classNames,
            notes: ["zero-shot logit scale \(context.logitScale)", Self.preprocessingNote(c.featureCache.preprocessing(for: inputs.model))]
                + (c.dataset.transform.map { ["image transform: \($0)"] } ?? [])
                + (c.dataset.classProfile.map { [Self.classProfileNote($0, unlabeled: inputs.unlabeled, test: inputs.test)] } ?? []))
        return RunReport(
            summary: summary,
            selection: SelectionSummary(
                topK: c.selection.topK, minConfidence: c.selection.minConfidence, selectedCount: selection.count,
                selectedPerClass: selection.perClassCounts, precision: precision,
                balancedAccuracy: try selection.balancedAccuracy(trueLabels: poolTruth), perClassPrecision: perClassPrecision,
                selectedConfidences: selection.confidences, rejectedConfidences: Self.subsample(rejected, limit: 20_000)),
            methods: methods, modelSelection: modelSelection,
            classMarginal: Self.classMarginalRecord(adapted, primary: c.primaryMethod, zeroShot: context.zeroShotPredictions, classCount: classCount))
    }

    /// The primary method's estimate of the pool's class shares (else the first method's that has
    /// one) beside the shares of zero-shot's pseudo-labels of the pool.
    static func classMarginalRecord(_ adapted: [Adapted], primary: MethodName, zeroShot: ZeroShotPredictions, classCount: Int) -> ClassMarginalRecord? {
        guard let entry = adapted.first(where: { $0.key == primary && $0.outcome.classMarginal != nil })
            ?? adapted.first(where: { $0.outcome.classMarginal != nil }), let estimate = entry.outcome.classMarginal else { return nil }
        var counts = [Double](repeating: 0, count: classCount)
        for label in zeroShot.labels where label >= 0 && label < classCount { counts[label] += 1 }
        let total = max(Double(zeroShot.labels.count), 1)
        return ClassMarginalRecord(
            method: entry.method.name, estimatedShares: estimate.shares, zeroShotShares: counts.map { $0 / total },
            agreement: estimate.agreement, warning: estimate.warning, decision: estimate.decision)
    }

    /// The report's line on the class profile: the profile and the images each split kept per class.
    static func classProfileNote(_ profile: ClassProfile, unlabeled: DatasetSplit, test: DatasetSplit) -> String {
        func counts(_ split: DatasetSplit) -> String {
            let perClass = split.classCounts
            let present = perClass.filter { $0 > 0 }
            let ratio = (present.min() ?? 0) > 0 ? String(format: ", largest/smallest %.3g", Double(present.max() ?? 0) / Double(present.min() ?? 1)) : ""
            return "\(split.name) [\(perClass.map(String.init).joined(separator: ", "))]\(ratio)"
        }
        return "class profile \(profile): images per class \(counts(unlabeled)); \(counts(test))"
    }

    /// The report's line on preprocessing, e.g. `preprocessing: pipeline openai, center crop
    /// rounding openai, JPEG decoding full (resize224-bicubic-crop224-mean…-openai)`.
    static func preprocessingNote(_ configuration: PreprocessorConfiguration) -> String {
        "preprocessing: pipeline \(configuration.pipeline.rawValue), center crop rounding "
            + "\(configuration.effectiveCropRounding.rawValue), JPEG decoding "
            + "\(configuration.jpegDecoding.rawValue) (\(configuration.identifier))"
    }

    // MARK: Steps

    /// `W`: per class, the templates' embeddings normalised, averaged and normalised again.
    func makeTextClassifier(model: CLIPModel, classNames: [String]) throws -> TextClassifier {
        let templates = c.prompts.templates
        let prompts = try ClassPrompts(classNames: classNames, templates: templates, tokenizer: model.tokenizer,
                                       contextLength: model.configuration.text.maximumPositionCount, truncate: c.prompts.truncate)
        for warning in prompts.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        var embeddings: [Float] = []
        for start in stride(from: 0, to: prompts.tokens.count, by: 256) {
            embeddings += try model.encodeTokens(Array(prompts.tokens[start..<min(start + 256, prompts.tokens.count)]), normalize: true)
        }
        return try TextClassifier(templateEmbeddings: embeddings, classCount: classNames.count,
                                  templateCount: templates.count, dimension: model.embeddingSize)
    }

    private var c: ExperimentConfiguration { configuration }

    /// Normalised features of every item of `split`, from the cache or extracted into it,
    /// `[items, dim]`; with `positions`, only those rows, in that order (`[positions, dim]`).
    func features(of split: DatasetSplit, model: CLIPModel, view: Int, keeping positions: [Int]? = nil) throws -> HostMatrix {
        let label = view == 0 ? "\(split.name) features" : "\(split.name) view \(view)"
        progress.begin(label, total: split.items.count)
        let set = try c.featureCache.extract(split: split, model: model, view: view, progress: { done, _ in progress.update(done) })
        progress.update(split.items.count)  // a cache hit reports no batches
        let matrix = try HostMatrix(values: set.features, rows: set.count, columns: set.dimension)
        guard let positions else { return matrix }
        return try matrix.rows(at: positions)
    }

    /// The features of pool `positions` averaged with `augment_views` augmented views of them.
    func averagedViews(_ positions: [Int], unlabeled: DatasetSplit, base: HostMatrix, model: CLIPModel) throws -> HostMatrix {
        let selected = try base.rows(at: positions)
        let views = c.prototypes.augmentViews
        guard views > 0 else { return selected }
        var subset = unlabeled
        subset.name = unlabeled.name + "-selected"
        subset.items = positions.map { unlabeled.items[$0] }
        var all = selected.values
        for view in 1...views { all += try features(of: subset, model: model, view: view).values }
        return try FeatureViews.average(all, viewCount: views + 1, imageCount: selected.rows, dimension: selected.columns)
    }

    /// At most `limit` values, evenly spaced (deterministic).
    static func subsample(_ values: [Float], limit: Int) -> [Float] {
        guard values.count > limit else { return values }
        return (0..<limit).map { values[$0 * values.count / limit] }
    }
}
