/// The content of a run report as a list of blocks, built once from a `RunReport` and rendered
/// by `MarkdownRenderer` and `HTMLRenderer`, so both files hold the same tables and wording.
struct ReportDocument {
    /// The charts of the HTML report (Markdown leaves them out).
    enum Chart {
        case topOneAccuracy
        case perClassAccuracy(labels: [Int])
        case confidenceHistogram
        case trainingLoss
        /// Candidates' label-free scores against their (analysis) test accuracy, one criterion.
        case criterionScores(criterion: String)
        /// Estimated class shares of the pool against zero-shot's predicted shares.
        case classMarginal
    }

    enum Block {
        case heading(String, level: Int)
        case paragraph(String)
        /// A line that must stand out (the test-label statement).
        case statement(String)
        case table(ReportTable, className: String?)
        case bullets([String])
        case chart(Chart)
    }

    let title: String
    private(set) var blocks: [Block] = []

    /// Training losses are listed every epoch up to this many epochs, else at a stride.
    static let lossRowLimit = 25

    init(_ report: RunReport) {
        title = "UP-Adapter run: \(report.summary.configurationName)"
        addSummary(report)
        addResults(report)
        addClassMarginal(report)
        addSelection(report)
        addPerClass(report)
        addTraining(report)
        addRounds(report)
        addModelSelection(report)
        if !report.summary.notes.isEmpty {
            blocks.append(.heading("Notes", level: 2))
            blocks.append(.bullets(report.summary.notes))
        }
    }

    /// The line every report carries about test labels and α/β tuning.
    static func testLabelStatement(_ report: RunReport) -> String {
        report.modelSelection?.usedTestLabels == true
            ? "Test labels used for tuning: YES (these results are not label-free)"
            : "Test labels used for tuning: no"
    }

    // MARK: Sections

    private mutating func addSummary(_ report: RunReport) {
        let summary = report.summary
        let usedTestLabels = report.modelSelection?.usedTestLabels == true
        let facts: [(String, String)] = [
            ("Configuration", summary.configurationName),
            ("Configuration file", summary.configurationPath),
            ("Started", summary.timestamp),
            ("Seed", String(summary.seed)),
            ("Device", summary.deviceDescription.isEmpty ? summary.deviceName : "\(summary.deviceName) (\(summary.deviceDescription))"),
            ("Tool version", summary.toolVersion),
            ("Model", summary.modelDirectory),
            ("Model digest", summary.modelDigest),
            ("Dataset", summary.datasetName),
            ("Unlabeled split", "\(summary.unlabeledSplit) (\(summary.unlabeledCount) images)"),
            ("Test split", "\(summary.testSplit) (\(summary.testCount) images)"),
            ("Classes", String(summary.classNames.count)),
            ("Test labels used for tuning", usedTestLabels ? "YES" : "no"),
        ]
        blocks.append(.table(
            ReportTable(headers: ["Run", "Value"], alignments: [.left, .left], rows: facts.map { [ReportTable.Cell($0.0), ReportTable.Cell($0.1)] }),
            className: "facts"))
        if !summary.phaseSeconds.isEmpty {
            blocks.append(.heading("Wall-clock time", level: 3))
            var rows = summary.phaseSeconds.keys.sorted().map { phase -> [ReportTable.Cell] in
                [ReportTable.Cell(phase), ReportTable.Cell(ReportFormat.seconds(summary.phaseSeconds[phase] ?? 0))]
            }
            rows.append([ReportTable.Cell("total", emphasized: true), ReportTable.Cell(ReportFormat.seconds(summary.totalSeconds), emphasized: true)])
            blocks.append(.table(ReportTable(headers: ["Phase", "Seconds"], rows: rows), className: nil))
        }
    }

    private mutating func addResults(_ report: RunReport) {
        blocks.append(.heading("Results", level: 2))
        blocks.append(.paragraph(
            "Top-1 accuracy on the \(report.summary.testSplit) split (\(report.summary.testCount) images), and balanced "
                + "accuracy: the mean of the per-class accuracies over the classes with test images, which weighs every class "
                + "equally (on a long-tailed test split top-1 alone hides the tail). "
                + "Δ is in percentage points against zero-shot CLIP. Methods marked \"yes\" under uses labels "
                + "saw true labels and are shown for comparison only."))
        blocks.append(.table(Self.resultsTable(report), className: "results"))
        blocks.append(.chart(.topOneAccuracy))
    }

    /// Method | Uses labels | Top-1 | Δ vs zero-shot (pp) | Balanced | Δ balanced (pp) | α | β.
    static func resultsTable(_ report: RunReport) -> ReportTable {
        ReportTable(
            headers: ["Method", "Uses labels", "Top-1", "Δ vs zero-shot (pp)", "Balanced", "Δ balanced (pp)", "α", "β"],
            alignments: [.left, .left, .right, .right, .right, .right, .right, .right],
            rows: report.methods.map { method in
                [
                    ReportTable.Cell(method.name, emphasized: method.kind == .upAdapter),
                    ReportTable.Cell(method.labelUse),
                    ReportTable.Cell(ReportFormat.percent(method.top1Accuracy)),
                    ReportTable.Cell(ReportFormat.points(report.deltaVersusZeroShot(method))),
                    ReportTable.Cell(ReportFormat.percent(method.balancedAccuracy)),
                    ReportTable.Cell(ReportFormat.points(report.balancedDeltaVersusZeroShot(method))),
                    ReportTable.Cell(ReportFormat.parameter(method.alpha)),
                    ReportTable.Cell(ReportFormat.parameter(method.beta)),
                ]
            })
    }

    private mutating func addClassMarginal(_ report: RunReport) {
        guard let record = report.classMarginal else { return }
        blocks.append(.heading("Class sizes of the unlabeled pool", level: 2))
        if let warning = record.warning { blocks.append(.statement("Warning: " + warning)) }
        let agreement = record.agreement.map { String(format: " Agreement of the two labelings of the pool (Cohen's κ): %.2f.", $0) } ?? ""
        blocks.append(.paragraph(
            "The class shares \(record.method) estimated from the pool's own cluster structure (no label read), against the "
                + "shares of zero-shot CLIP's predictions of the same images. Zero-shot's shares mix the collection's real class "
                + "sizes with its own biases; a class it over-predicts under a shift is not a large class.\(agreement)"))
        blocks.append(.chart(.classMarginal))
        if let decision = record.decision { blocks.append(.statement(decision)) }
    }

    private mutating func addSelection(_ report: RunReport) {
        guard let selection = report.selection else { return }
        blocks.append(.heading("Confident selection", level: 2))
        blocks.append(.paragraph(
            "The K most confident zero-shot pseudo-labeled images of each class of the \(report.summary.unlabeledSplit) split. "
                + "Precision is the share of selected images whose pseudo-label is right; balanced accuracy averages that share "
                + "over the true classes among the selected images. Both are measured with that split's "
                + "labels for this report only and play no part in selection, training or tuning."))
        let rejected = report.summary.unlabeledCount - selection.selectedCount
        blocks.append(.table(
            ReportTable(
                headers: ["K per class", "Min confidence", "Selected", "Rejected", "Classes with fewer than K", "Pseudo-label precision",
                          "Pseudo-label balanced accuracy"],
                alignments: [.right, .right, .right, .right, .right, .right, .right],
                rows: [[
                    ReportTable.Cell(String(selection.topK)),
                    ReportTable.Cell(selection.minConfidence.map(ReportFormat.number) ?? "none"),
                    ReportTable.Cell(String(selection.selectedCount)),
                    ReportTable.Cell(String(rejected)),
                    ReportTable.Cell(String(selection.selectedPerClass.filter { $0 < selection.topK }.count)),
                    ReportTable.Cell(ReportFormat.percent(selection.precision)),
                    ReportTable.Cell(selection.balancedAccuracy.map(ReportFormat.percent) ?? ReportFormat.missing),
                ]]),
            className: "selection"))
        blocks.append(.chart(.confidenceHistogram))
        let shownSelected = selection.selectedConfidences.count, shownRejected = selection.rejectedConfidences.count
        if shownSelected < selection.selectedCount || shownRejected < rejected {
            blocks.append(.paragraph(
                "The confidence histogram is drawn from a sample: \(shownSelected) of \(selection.selectedCount) selected "
                    + "and \(shownRejected) of \(rejected) rejected images."))
        }
    }

    private mutating func addPerClass(_ report: RunReport) {
        guard !report.methods.isEmpty else { return }
        let classNames = report.summary.classNames
        let rows = ClassRowSelection(report: report)
        blocks.append(.heading("Per-class accuracy", level: 2))
        if let note = rows.note { blocks.append(.paragraph(note)) }
        let testCounts = report.methods.first { !$0.confusionMatrix.isEmpty }.map { method in
            method.confusionMatrix.map { $0.reduce(0, +) }
        }
        let gains = report.perClassGain
        var headers = ["Label", "Class"]
        if testCounts != nil { headers.append("Test images") }
        if report.selection != nil { headers += ["Selected", "Pseudo-label precision"] }
        headers += report.methods.map(\.name)
        if gains != nil { headers.append("UP-Adapter gain (pp)") }
        var table = ReportTable(headers: headers, alignments: [.right, .left] + Array(repeating: .right, count: headers.count - 2))
        for label in rows.labels {
            var cells: [ReportTable.Cell] = [ReportTable.Cell(String(label)), ReportTable.Cell(classNames[label])]
            if let testCounts { cells.append(ReportTable.Cell(testCounts[reportIndex: label].map(String.init) ?? ReportFormat.missing)) }
            if let selection = report.selection {
                cells.append(ReportTable.Cell(selection.selectedPerClass[reportIndex: label].map(String.init) ?? ReportFormat.missing))
                cells.append(ReportTable.Cell(ReportFormat.percent(selection.perClassPrecision[reportIndex: label] ?? .nan)))
            }
            cells += report.methods.map { ReportTable.Cell(ReportFormat.percent($0.perClassAccuracy[reportIndex: label] ?? .nan)) }
            if let gains { cells.append(ReportTable.Cell(ReportFormat.points(gains[reportIndex: label] ?? .nan))) }
            table.rows.append(cells)
        }
        blocks.append(.table(table, className: "per-class"))
        if report.zeroShot != nil, report.upAdapter != nil {
            blocks.append(.chart(.perClassAccuracy(labels: Self.chartOrder(rows.labels, gains: gains ?? []))))
        }
    }

    /// Classes of the per-class chart: highest gain first.
    private static func chartOrder(_ labels: [Int], gains: [Double]) -> [Int] {
        labels.sorted { lhs, rhs in
            let left = gains[reportIndex: lhs] ?? .nan, right = gains[reportIndex: rhs] ?? .nan
            if left.isNaN != right.isNaN { return right.isNaN }
            if left != right, !left.isNaN { return left > right }
            return lhs < rhs
        }
    }

    private mutating func addTraining(_ report: RunReport) {
        let trained = report.methods.filter { !($0.trainingLosses ?? []).isEmpty }
        guard !trained.isEmpty else { return }
        blocks.append(.heading("Training loss", level: 2))
        let epochs = trained.map { $0.trainingLosses?.count ?? 0 }.max() ?? 0
        let shown = Self.lossEpochs(count: epochs)
        if shown.count < epochs {
            let step = shown.count > 1 ? shown[1] - shown[0] : 1
            blocks.append(.paragraph("Mean cross-entropy per epoch, one row every \(step) epochs and the last; metrics.json holds every epoch."))
        } else {
            blocks.append(.paragraph("Mean cross-entropy per epoch."))
        }
        var table = ReportTable(headers: ["Epoch"] + trained.map(\.name))
        for epoch in shown {
            table.rows.append([ReportTable.Cell(String(epoch))] + trained.map { method in
                let losses = method.trainingLosses ?? []
                return ReportTable.Cell(epoch <= losses.count ? ReportFormat.loss(losses[epoch - 1]) : ReportFormat.missing)
            })
        }
        blocks.append(.table(table, className: "losses"))
        blocks.append(.chart(.trainingLoss))
    }

    /// The 1-based epochs of the loss table: all up to `lossRowLimit`, else a stride ending at the last.
    static func lossEpochs(count: Int) -> [Int] {
        guard count > lossRowLimit else { return Array(stride(from: 1, through: count, by: 1)) }
        let step = (count + 19) / 20
        var epochs = Array(stride(from: 1, through: count, by: step))
        if epochs.last != count { epochs.append(count) }
        return epochs
    }

    private mutating func addRounds(_ report: RunReport) {
        let methods = report.methods.filter { ($0.rounds?.count ?? 0) > 1 }
        guard !methods.isEmpty else { return }
        blocks.append(.heading("Self-training rounds", level: 2))
        blocks.append(.paragraph(
            "Each round re-pseudo-labels the whole unlabeled pool with the previous round's classifier, selects class-balanced "
                + "and retrains. Precision and test accuracy use labels for this report only (analysis): no round reads a label."))
        for method in methods {
            var table = ReportTable(
                headers: ["Round", "Selection", "Selected", "Pseudo-label precision", "Pseudo-label balanced accuracy", "Pool labels changed",
                          "Test top-1 (analysis)", "Test balanced (analysis)"],
                alignments: [.right, .left, .right, .right, .right, .right, .right, .right])
            for round in method.rounds ?? [] {
                table.rows.append([
                    ReportTable.Cell(String(round.round)), ReportTable.Cell(round.rule), ReportTable.Cell(String(round.selectedCount)),
                    ReportTable.Cell(ReportFormat.percent(round.pseudoLabelPrecision)),
                    ReportTable.Cell(round.pseudoLabelBalancedAccuracy.map(ReportFormat.percent) ?? ReportFormat.missing),
                    ReportTable.Cell(round.changedPseudoLabels.map(ReportFormat.percent) ?? ReportFormat.missing),
                    ReportTable.Cell(ReportFormat.percent(round.testAccuracy)),
                    ReportTable.Cell(round.testBalancedAccuracy.map(ReportFormat.percent) ?? ReportFormat.missing),
                ])
            }
            blocks.append(.heading(method.name, level: 3))
            blocks.append(.table(table, className: "rounds"))
        }
    }

    private mutating func addModelSelection(_ report: RunReport) {
        blocks.append(.heading("Label-free model selection", level: 2))
        guard let selection = report.modelSelection, !selection.candidates.isEmpty else {
            blocks.append(.paragraph("No model selection ran in this run."))
            blocks.append(.statement(Self.testLabelStatement(report)))
            return
        }
        blocks.append(.paragraph(
            "K, α and β were chosen among \(selection.candidates.count) candidates by each criterion, computed on "
                + "\(selection.scoringSampleSize) unlabeled images (held-out pseudo-labels: on selected images kept out of training). "
                + "The test accuracies below were computed after the choice, for analysis; the oracle row is the best candidate "
                + "by test labels, which no label-free user can reach."))
        var table = ReportTable(headers: ["Criterion", "Selection", "Selected", "α", "β", "Score", "Test top-1 (analysis)",
                                          "Test balanced (analysis)"],
                                alignments: [.left, .left, .right, .right, .right, .right, .right, .right])
        for (name, index) in selection.choices.sorted(by: { $0.key < $1.key }) {
            guard let candidate = selection.candidates[reportIndex: index] else { continue }
            table.rows.append([
                ReportTable.Cell(name), ReportTable.Cell(candidate.rule), ReportTable.Cell(String(candidate.selectedCount)),
                ReportTable.Cell(ReportFormat.number(candidate.alpha)), ReportTable.Cell(ReportFormat.number(candidate.beta)),
                ReportTable.Cell(candidate.scores[name].map { ReportFormat.number(($0 * 10000).rounded() / 10000) } ?? ReportFormat.missing),
                ReportTable.Cell(ReportFormat.percent(candidate.testAccuracy)),
                ReportTable.Cell(candidate.testBalancedAccuracy.map(ReportFormat.percent) ?? ReportFormat.missing),
            ])
        }
        if let oracle = selection.oracle {
            table.rows.append([
                ReportTable.Cell("oracle (test labels)", emphasized: true), ReportTable.Cell(oracle.rule), ReportTable.Cell(String(oracle.selectedCount)),
                ReportTable.Cell(ReportFormat.number(oracle.alpha)), ReportTable.Cell(ReportFormat.number(oracle.beta)),
                ReportTable.Cell(ReportFormat.missing), ReportTable.Cell(ReportFormat.percent(oracle.testAccuracy), emphasized: true),
                ReportTable.Cell(oracle.testBalancedAccuracy.map(ReportFormat.percent) ?? ReportFormat.missing),
            ])
        }
        blocks.append(.table(table, className: "model-selection"))
        for name in selection.choices.keys.sorted() { blocks.append(.chart(.criterionScores(criterion: name))) }
        blocks.append(.statement(Self.testLabelStatement(report)))
    }
}
