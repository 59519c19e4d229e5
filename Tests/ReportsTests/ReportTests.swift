import Foundation
import TestSupport
import Testing

@testable import Reports

#if canImport(FoundationXML)
import FoundationXML
#endif

/// A small run with known inputs: 3 classes (one named with `<`, `&` and quotes), 12 test
/// images, 40 unlabeled images of which 11 are selected. Every expected number in the tests is
/// computed from these inputs by the tests themselves.
private enum SyntheticRun {
    static let classNames = ["tabby cat", "<Bad> & \"quoted\" 'name'", "dog|wolf"]
    static let testLabels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
    /// Predictions on the test split per method: (name, kind, uses labels, shots, predictions, α, β, losses).
    static let methods: [(String, MethodKind, Bool, Int?, [Int], Double?, Double?, [Double]?)] = [
        ("Zero-shot CLIP", .zeroShot, false, nil, [0, 0, 1, 0, 2, 1, 0, 1, 2, 2, 0, 2], nil, nil, nil),
        ("UP-Adapter", .upAdapter, false, nil, [0, 0, 0, 0, 2, 1, 1, 1, 2, 2, 2, 2], 2, 5.5, [1.2, 0.9, 0.75, 0.7125]),
        ("Tip-Adapter (pseudo-labels, training-free)", .baseline, false, nil, [0, 0, 1, 0, 0, 1, 1, 1, 2, 2, 0, 2], 1.17, 1, nil),
        ("Tip-Adapter-F 8-shot (labels)", .baseline, true, 8, [0, 0, 0, 0, 0, 1, 1, 1, 0, 2, 2, 2], 1.17, 1, [1.5, 1.0, 0.6, 0.4]),
    ]
    /// Pseudo-labels and true labels of the selected images.
    static let selectedPseudoLabels = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    static let selectedTrueLabels = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 0]
    static let unlabeledCount = 40
    static let topK = 4
    static let selectedConfidences: [Float] = [0.99, 0.97, 0.93, 0.91, 0.88, 0.86, 0.62, 0.97, 0.95, 0.90, 0.85]
    static let rejectedConfidences: [Float] = (0..<29).map { Float($0) / 29 * 0.9 + 0.05 }
    static let grid: [(Double, Double, Double)] = [(1, 1, 0.5), (1, 5.5, 2.0 / 3), (2, 1, 2.0 / 3), (2, 5.5, 1)]

    /// Counts `labels == value` among `positions`.
    static func fraction(_ predicate: (Int) -> Bool, over positions: [Int]) -> Double {
        Double(positions.filter(predicate).count) / Double(positions.count)
    }

    static func accuracy(_ predictions: [Int]) -> Double {
        fraction({ predictions[$0] == testLabels[$0] }, over: Array(testLabels.indices))
    }

    static func perClassAccuracy(_ predictions: [Int]) -> [Double] {
        classNames.indices.map { label in
            fraction({ predictions[$0] == label }, over: testLabels.indices.filter { testLabels[$0] == label })
        }
    }

    /// Every class has test images, so the balanced accuracy is the plain mean of the three.
    static func balancedAccuracy(_ predictions: [Int]) -> Double {
        perClassAccuracy(predictions).reduce(0, +) / 3
    }

    /// Of the selected images, per true class the share pseudo-labelled right: class 0 has 4
    /// (3 right), class 1 has 3 (2 right), class 2 has 4 (3 right).
    static let selectionBalancedAccuracy = (3.0 / 4 + 2.0 / 3 + 3.0 / 4) / 3

    static func report(usedTestLabels: Bool = false) throws -> RunReport {
        let results = try methods.map { name, kind, usesLabels, shots, predictions, alpha, beta, losses in
            MethodResult(
                name: name, kind: kind, usesLabels: usesLabels, shots: shots,
                confusion: try ConfusionMatrix(trueLabels: testLabels, predictedLabels: predictions, classCount: classNames.count),
                alpha: alpha, beta: beta, trainingLosses: losses)
        }
        let perClassSelected = classNames.indices.map { label in selectedPseudoLabels.filter { $0 == label }.count }
        let correct = zip(selectedPseudoLabels, selectedTrueLabels).map { $0 == $1 }
        let perClassPrecision = classNames.indices.map { label in
            fraction({ correct[$0] }, over: selectedPseudoLabels.indices.filter { selectedPseudoLabels[$0] == label })
        }
        let selection = SelectionSummary(
            topK: topK, minConfidence: 0.6, selectedCount: selectedPseudoLabels.count, selectedPerClass: perClassSelected,
            precision: fraction({ correct[$0] }, over: Array(correct.indices)), balancedAccuracy: selectionBalancedAccuracy,
            perClassPrecision: perClassPrecision,
            selectedConfidences: selectedConfidences, rejectedConfidences: rejectedConfidences)
        let modelSelection = ModelSelectionRecord(
            candidates: grid.enumerated().map { index, point in
                ModelSelectionRecord.Candidate(
                    rule: "K 4", selectedCount: 11, alpha: point.0, beta: point.1,
                    scores: ["information_maximization": point.2], testAccuracy: 0.25 * Double(index + 1))
            },
            choices: ["information_maximization": 3], scoringSampleSize: 9, usedTestLabels: usedTestLabels)
        let summary = RunSummary(
            configurationName: "synthetic", configurationPath: "/configs/synthetic & <test>.yaml",
            timestamp: RunSummary.timestamp(for: Date(timeIntervalSince1970: 1_700_000_000)), seed: 7,
            deviceName: "cpu", deviceDescription: "CPU backend (OpenBLAS)", toolVersion: "0.1.0-test",
            modelDirectory: "/models/clip", modelDigest: "sha256:0123abcd", datasetName: "Synthetic",
            unlabeledSplit: "train", unlabeledCount: unlabeledCount, testSplit: "test", testCount: testLabels.count,
            classNames: classNames, phaseSeconds: ["features": 12.25, "selection": 0.5, "training": 3.75],
            notes: ["A note with <angle> & ampersand."])
        return RunReport(summary: summary, selection: selection, methods: results, modelSelection: modelSelection)
    }

    /// `fraction` as the reports print it: "58.33%".
    static func percent(_ fraction: Double) -> String { String(format: "%.2f%%", fraction * 100) }

    /// A difference of fractions in points with a sign: "+16.67".
    static func points(_ difference: Double) -> String { String(format: "%+.2f", difference * 100) }
}

/// The text of a file written into `folder`.
private func text(_ name: String, in folder: URL) throws -> String {
    try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
}

@Suite("Run reports")
struct ReportTests {
    // MARK: Confusion matrix

    @Test("Confusion matrix of a hand-computable example")
    func confusionMatrixExample() throws {
        let matrix = try ConfusionMatrix(trueLabels: [0, 0, 1, 2], predictedLabels: [0, 1, 1, 2], classCount: 3)
        #expect(matrix.counts == [[1, 1, 0], [0, 1, 0], [0, 0, 1]])
        #expect(matrix.total == 4)
        #expect(matrix.correct == 3)
        #expect(matrix.accuracy == 0.75)
        #expect(matrix.perClassAccuracy == [0.5, 1, 1])
        #expect(matrix.perClassPrecision == [1, 0.5, 1])
        #expect(matrix.trueCounts == [2, 1, 1])
        #expect(matrix.predictedCounts == [1, 2, 1])
        let confusions = matrix.topConfusions(limit: 5)
        #expect(confusions.count == 1)
        #expect(confusions.first?.trueClass == 0 && confusions.first?.predictedClass == 1 && confusions.first?.count == 1)
    }

    @Test("Confusion matrix: a class without images has undefined accuracy; bad input throws")
    func confusionMatrixEdges() throws {
        let matrix = try ConfusionMatrix(trueLabels: [0, 0, 2], predictedLabels: [0, 2, 2], classCount: 3)
        #expect(matrix.perClassAccuracy[0] == 0.5)
        #expect(matrix.perClassAccuracy[1].isNaN)
        #expect(matrix.perClassAccuracy[2] == 1)
        #expect(matrix.perClassPrecision[1].isNaN)
        #expect(matrix.perClassPrecision[2] == 0.5)
        #expect(try ConfusionMatrix(trueLabels: [], predictedLabels: [], classCount: 2).accuracy.isNaN)

        #expect(throws: ReportError.labelCountMismatch(trueLabels: 2, predictedLabels: 1)) {
            try ConfusionMatrix(trueLabels: [0, 1], predictedLabels: [0], classCount: 2)
        }
        #expect(throws: ReportError.labelOutOfRange(list: "predicted", position: 1, label: 2, classCount: 2)) {
            try ConfusionMatrix(trueLabels: [0, 1], predictedLabels: [0, 2], classCount: 2)
        }
        #expect(throws: ReportError.labelOutOfRange(list: "true", position: 0, label: -1, classCount: 2)) {
            try ConfusionMatrix(trueLabels: [-1], predictedLabels: [0], classCount: 2)
        }
        #expect(throws: ReportError.self) { try ConfusionMatrix(counts: [[1, 0], [0]]) }
        #expect(throws: ReportError.self) { try ConfusionMatrix(counts: [[1, -1], [0, 0]]) }
    }

    @Test("Confusion matrix of the synthetic run agrees with counting by hand")
    func confusionMatrixSynthetic() throws {
        for (_, _, _, _, predictions, _, _, _) in SyntheticRun.methods {
            let matrix = try ConfusionMatrix(trueLabels: SyntheticRun.testLabels, predictedLabels: predictions, classCount: 3)
            #expect(matrix.total == SyntheticRun.testLabels.count)
            #expect(matrix.trueCounts == [5, 4, 3])
            #expect(matrix.accuracy == SyntheticRun.accuracy(predictions))
            #expect(matrix.perClassAccuracy == SyntheticRun.perClassAccuracy(predictions))
            for row in 0..<3 {
                for column in 0..<3 {
                    let count = SyntheticRun.testLabels.indices.filter {
                        SyntheticRun.testLabels[$0] == row && predictions[$0] == column
                    }.count
                    #expect(matrix.counts[row][column] == count)
                }
            }
        }
    }

    // MARK: Histogram

    @Test("Confidence histogram: 20 bins over [0, 1], ends clamped, NaN counted apart")
    func histogramBins() {
        let values: [Float] = [0, 0.01, 0.5, 0.97, 1, .nan, -0.0001, 1.00001, 0.26]
        let histogram = ConfidenceHistogram(values: values)
        #expect(histogram.edges.count == 21)
        #expect(histogram.edges.first == 0 && histogram.edges.last == 1)
        #expect(abs(histogram.edges[1] - 0.05) < 1e-12)
        var expected = [Int](repeating: 0, count: 20)
        expected[0] = 3  // 0, 0.01, -0.0001
        expected[5] = 1  // 0.26 is in [0.25, 0.30)
        expected[10] = 1  // 0.5
        expected[19] = 3  // 0.97, 1, 1.00001
        #expect(histogram.counts == expected)
        #expect(histogram.undefinedCount == 1)
        #expect(histogram.total + histogram.undefinedCount == values.count)
        #expect(abs(histogram.fractions.reduce(0, +) - 1) < 1e-12)
        #expect(ConfidenceHistogram(values: []).fractions == [Double](repeating: 0, count: 20))
    }

    @Test("Histogram counts of the synthetic selection add up to the inputs")
    func histogramSums() throws {
        let selection = try #require(try SyntheticRun.report().selection)
        #expect(selection.selectedHistogram.total == SyntheticRun.selectedConfidences.count)
        #expect(selection.rejectedHistogram.total == SyntheticRun.rejectedConfidences.count)
        // Every selected confidence is at least 0.6, so bins below 12 are empty.
        #expect(selection.selectedHistogram.counts[0..<12].allSatisfy { $0 == 0 })
    }

    // MARK: Files

    @Test("the class-marginal record round-trips through metrics.json and shows its section, warning, decision and chart")
    func classMarginal() throws {
        let folder = try TemporaryFolder()
        var report = try SyntheticRun.report()
        let classes = report.summary.classNames.count
        let estimated = (0..<classes).map { Double($0 + 1) / Double(classes * (classes + 1) / 2) }
        report.classMarginal = ClassMarginalRecord(
            method: "UP-Adapter, prior-aware transport proxies", estimatedShares: estimated,
            zeroShotShares: [Double](repeating: 1 / Double(classes), count: classes), agreement: 0.07, warning: "the collection looks misread",
            decision: "the adapter keeps zero-shot CLIP")
        let runFolder = folder.url.appendingPathComponent("run", isDirectory: true)
        try RunReportWriter.write(report, to: runFolder)
        #expect(try RunReport.load(metricsFile: runFolder.appendingPathComponent("metrics.json")) == report)
        let markdown = try text("report.md", in: runFolder), html = try text("report.html", in: runFolder)
        #expect(markdown.contains("## Class sizes of the unlabeled pool") && markdown.contains("Warning: the collection looks misread"))
        #expect(markdown.contains("Cohen's κ): 0.07"))
        #expect(markdown.contains("the adapter keeps zero-shot CLIP") && html.contains("the adapter keeps zero-shot CLIP"))
        #expect(html.contains("Class shares of the pool: estimated and predicted by zero-shot"))
        // Without a record: no section.
        let plain = folder.url.appendingPathComponent("plain", isDirectory: true)
        try RunReportWriter.write(try SyntheticRun.report(), to: plain)
        #expect(!(try text("report.md", in: plain)).contains("Class sizes of the unlabeled pool"))
    }

    @Test("metrics.json decodes back to the same report and carries the derived values")
    func metricsRoundTrip() throws {
        let folder = try TemporaryFolder()
        let report = try SyntheticRun.report()
        let runFolder = folder.url.appendingPathComponent("run 1", isDirectory: true)
        try RunReportWriter.write(report, to: runFolder)

        let names = try FileManager.default.contentsOfDirectory(atPath: runFolder.path).sorted()
        #expect(names == ["metrics.json", "report.html", "report.md"])

        let decoded = try RunReport.load(metricsFile: runFolder.appendingPathComponent("metrics.json"))
        #expect(decoded == report)

        let data = try Data(contentsOf: runFolder.appendingPathComponent("metrics.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["formatVersion"] as? Int == 1)
        let derived = try #require(json["derived"] as? [String: Any])
        let results = try #require(derived["results"] as? [[String: Any]])
        #expect(results.count == SyntheticRun.methods.count)
        let zeroShotAccuracy = SyntheticRun.accuracy(SyntheticRun.methods[0].4)
        for (row, method) in zip(results, SyntheticRun.methods) {
            #expect(row["name"] as? String == method.0)
            let top1 = try #require(row["top1Accuracy"] as? Double)
            #expect(abs(top1 - SyntheticRun.accuracy(method.4)) < 1e-12)
            let balanced = try #require(row["balancedAccuracy"] as? Double)
            #expect(abs(balanced - SyntheticRun.balancedAccuracy(method.4)) < 1e-12)
            if method.1 == .zeroShot {
                #expect(row["deltaVersusZeroShot"] == nil)
                #expect(row["balancedDeltaVersusZeroShot"] == nil)
            } else {
                let delta = try #require(row["deltaVersusZeroShot"] as? Double)
                #expect(abs(delta - (SyntheticRun.accuracy(method.4) - zeroShotAccuracy)) < 1e-12)
                let balancedDelta = try #require(row["balancedDeltaVersusZeroShot"] as? Double)
                #expect(abs(balancedDelta - (SyntheticRun.balancedAccuracy(method.4) - SyntheticRun.balancedAccuracy(SyntheticRun.methods[0].4))) < 1e-12)
            }
        }
        let methodEntries = try #require(json["methods"] as? [[String: Any]])
        for (entry, method) in zip(methodEntries, SyntheticRun.methods) {
            let balanced = try #require(entry["balancedAccuracy"] as? Double)
            #expect(abs(balanced - SyntheticRun.balancedAccuracy(method.4)) < 1e-12)
        }
        let selectionEntry = try #require(json["selection"] as? [String: Any])
        #expect(abs((selectionEntry["balancedAccuracy"] as? Double ?? .nan) - SyntheticRun.selectionBalancedAccuracy) < 1e-12)
        let histograms = try #require(derived["confidenceHistograms"] as? [String: Any])
        let selected = try #require((histograms["selected"] as? [String: Any])?["counts"] as? [Int])
        let rejected = try #require((histograms["rejected"] as? [String: Any])?["counts"] as? [Int])
        #expect(selected.count == 20 && rejected.count == 20)
        #expect(selected.reduce(0, +) == SyntheticRun.selectedConfidences.count)
        #expect(rejected.reduce(0, +) == SyntheticRun.rejectedConfidences.count)
        let gains = try #require(derived["perClassGain"] as? [Double])
        let expectedGains = zip(SyntheticRun.perClassAccuracy(SyntheticRun.methods[1].4), SyntheticRun.perClassAccuracy(SyntheticRun.methods[0].4)).map { $0 - $1 }
        #expect(zip(gains, expectedGains).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(abs((derived["totalSeconds"] as? Double ?? 0) - 16.5) < 1e-12)

        // Keys are sorted and plain-value arrays stay on one line.
        let text = try text("metrics.json", in: runFolder)
        #expect(text.contains("\"selectedPerClass\": [4, 3, 4]"))
        let topKeys = text.components(separatedBy: "\n").filter { $0.hasPrefix("  \"") }
            .compactMap { $0.split(separator: "\"").dropFirst().first.map(String.init) }
        #expect(topKeys == ["derived", "formatVersion", "methods", "modelSelection", "selection", "summary"])
        #expect(text.contains("\"usedTestLabels\": false"))
    }

    @Test("report.md holds the facts, the results with Δ, the selection, per-class, loss and model-selection tables")
    func markdownContents() throws {
        let folder = try TemporaryFolder()
        let report = try SyntheticRun.report()
        try RunReportWriter.write(report, to: folder.url)
        let markdown = try text("report.md", in: folder.url)
        let lines = Set(markdown.components(separatedBy: "\n"))

        #expect(lines.contains("| Seed | 7 |"))
        #expect(lines.contains("| Configuration file | /configs/synthetic &amp; &lt;test&gt;.yaml |"))
        #expect(lines.contains("| Model digest | sha256:0123abcd |"))
        #expect(lines.contains("| Device | cpu (CPU backend (OpenBLAS)) |"))
        #expect(lines.contains("| Unlabeled split | train (40 images) |"))
        #expect(lines.contains("| Test split | test (12 images) |"))
        #expect(lines.contains("| Started | 2023-11-14T22:13:20Z |"))
        #expect(lines.contains("| **total** | **16.5** |"))

        // Results: method | uses labels | top-1 | Δ vs zero-shot | balanced | Δ balanced | α | β.
        let zeroShotAccuracy = SyntheticRun.accuracy(SyntheticRun.methods[0].4)
        let zeroShotBalanced = SyntheticRun.balancedAccuracy(SyntheticRun.methods[0].4)
        for (name, kind, usesLabels, shots, predictions, alpha, beta, _) in SyntheticRun.methods {
            let accuracy = SyntheticRun.accuracy(predictions), balanced = SyntheticRun.balancedAccuracy(predictions)
            let delta = kind == .zeroShot ? "—" : SyntheticRun.points(accuracy - zeroShotAccuracy)
            let balancedDelta = kind == .zeroShot ? "—" : SyntheticRun.points(balanced - zeroShotBalanced)
            let labels = usesLabels ? "yes (\(shots ?? 0)-shot)" : "no"
            let shownName = kind == .upAdapter ? "**\(name)**" : name
            let row = "| \(shownName) | \(labels) | \(SyntheticRun.percent(accuracy)) | \(delta) | "
                + "\(SyntheticRun.percent(balanced)) | \(balancedDelta) | "
                + "\(alpha.map { String(format: "%g", $0) } ?? "—") | \(beta.map { String(format: "%g", $0) } ?? "—") |"
            #expect(lines.contains(row), "missing results row \(row)")
        }

        // Selection: K, min confidence, selected, rejected, classes short of K, precision.
        let correct = zip(SyntheticRun.selectedPseudoLabels, SyntheticRun.selectedTrueLabels).filter { $0 == $1 }.count
        let precision = SyntheticRun.percent(Double(correct) / Double(SyntheticRun.selectedPseudoLabels.count))
        #expect(lines.contains("| 4 | 0.6 | 11 | 29 | 1 | \(precision) | \(SyntheticRun.percent(SyntheticRun.selectionBalancedAccuracy)) |"))

        // Per-class: the class name escaped for Markdown, accuracies of every method, gain.
        let perClass = SyntheticRun.methods.map { SyntheticRun.perClassAccuracy($0.4) }
        for label in 0..<3 {
            let name = ["tabby cat", "&lt;Bad&gt; &amp; \"quoted\" 'name'", "dog\\|wolf"][label]
            let selected = SyntheticRun.selectedPseudoLabels.filter { $0 == label }.count
            let selectedCorrect = SyntheticRun.selectedPseudoLabels.indices.filter {
                SyntheticRun.selectedPseudoLabels[$0] == label && SyntheticRun.selectedTrueLabels[$0] == label
            }.count
            let testImages = SyntheticRun.testLabels.filter { $0 == label }.count
            let gain = SyntheticRun.points(perClass[1][label] - perClass[0][label])
            let row = "| \(label) | \(name) | \(testImages) | \(selected) | \(SyntheticRun.percent(Double(selectedCorrect) / Double(selected))) | "
                + perClass.map { SyntheticRun.percent($0[label]) }.joined(separator: " | ") + " | \(gain) |"
            #expect(lines.contains(row), "missing per-class row \(row)")
        }

        // Training loss: the trained methods' losses per epoch.
        #expect(lines.contains("| Epoch | UP-Adapter | Tip-Adapter-F 8-shot (labels) |"))
        #expect(lines.contains("| 4 | 0.7125 | 0.4000 |"))

        // Model selection: each criterion's choice, its score and (analysis) test accuracy, the oracle.
        #expect(lines.contains("| information_maximization | K 4 | 11 | 2 | 5.5 | 1 | \(SyntheticRun.percent(1)) | — |"))
        #expect(lines.contains("| **oracle (test labels)** | K 4 | 11 | 2 | 5.5 | — | **\(SyntheticRun.percent(1))** | — |"))
        #expect(lines.contains("Test labels used for tuning: no"))
        #expect(lines.contains("- A note with &lt;angle&gt; &amp; ampersand."))
        #expect(!markdown.contains("<Bad>"))
    }

    @Test("report.html is well-formed XML with five charts, escaped names and nothing external")
    func htmlContents() throws {
        let folder = try TemporaryFolder()
        try RunReportWriter.write(try SyntheticRun.report(), to: folder.url)
        let html = try text("report.html", in: folder.url)

        #expect(html.components(separatedBy: "<svg ").count - 1 == 5)
        #expect(html.components(separatedBy: "</svg>").count - 1 == 5)
        #expect(html.contains("&lt;Bad&gt; &amp; &quot;quoted&quot; &#39;name&#39;"))
        #expect(!html.contains("<Bad>"))
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.contains("src=") && !html.contains("href="))
        #expect(html.contains("Test labels used for tuning: no"))
        #expect(html.contains("url(#top1-labels)"), "methods that use labels are hatched")
        let zeroShotAccuracy = SyntheticRun.accuracy(SyntheticRun.methods[0].4)
        for method in SyntheticRun.methods {
            let accuracy = SyntheticRun.accuracy(method.4)
            #expect(html.contains("<td class=\"number\">\(SyntheticRun.percent(accuracy))</td>"))
            if method.1 != .zeroShot {
                #expect(html.contains("<td class=\"number\">\(SyntheticRun.points(accuracy - zeroShotAccuracy))</td>"))
            }
        }

        #if canImport(FoundationXML) || os(macOS)
        let outline = try #require(XMLOutline(html), "report.html is not well-formed XML")
        #expect(outline.root == "html")
        #expect(outline.counts["svg"] == 5)  // top-1, per-class, confidences, loss, one criterion
        #expect(outline.counts["table"] == 7)  // facts, phases, results, selection, per-class, losses, model selection
        #expect((outline.counts["rect"] ?? 0) > 10)
        #expect(outline.counts["polyline"] == 2)
        #expect(outline.counts["script"] == nil)
        // The escaped class name reads back as the original text.
        #expect(outline.cellTexts.contains(SyntheticRun.classNames[1]))
        #expect(outline.cellTexts.contains(SyntheticRun.classNames[2]))
        #endif
    }

    @Test("The plain-text results table is aligned, with two-decimal percentages and Δ")
    func plainResultsTable() throws {
        let report = try SyntheticRun.report()
        let table = resultsTable(report)
        #expect(table == RunReportWriter.resultsTable(report))
        let lines = table.components(separatedBy: "\n")
        let header = try #require(lines.first)
        #expect(header.hasPrefix("Method"))
        let zeroShotAccuracy = SyntheticRun.accuracy(SyntheticRun.methods[0].4)
        let topColumnEnd = try #require(header.range(of: "Top-1")).upperBound
        let topOffset = header.distance(from: header.startIndex, to: topColumnEnd)
        // Right-aligned last column: the header, the rule and every row have the same length.
        #expect(Set(lines[0..<(2 + SyntheticRun.methods.count)].map(\.count)).count == 1, "\(table)")
        for (index, method) in SyntheticRun.methods.enumerated() {
            let line = lines[index + 2]
            let accuracy = SyntheticRun.accuracy(method.4)
            #expect(line.hasPrefix(method.0))
            let delta = method.1 == .zeroShot ? "—" : SyntheticRun.points(accuracy - zeroShotAccuracy)
            let balanced = SyntheticRun.balancedAccuracy(method.4)
            let balancedDelta = method.1 == .zeroShot ? "—" : SyntheticRun.points(balanced - SyntheticRun.balancedAccuracy(SyntheticRun.methods[0].4))
            #expect(line.hasSuffix(" " + balancedDelta), "\(line)")
            #expect(line.contains(" " + delta + "  "), "\(line)")
            #expect(line.contains(" " + SyntheticRun.percent(balanced) + "  "), "\(line)")
            #expect(line.contains("  " + (method.2 ? "yes (8-shot)" : "no") + "  "), "\(line)")
            // The top-1 value ends in the same column as its header.
            let range = try #require(line.range(of: SyntheticRun.percent(accuracy)))
            #expect(line.distance(from: line.startIndex, to: range.upperBound) == topOffset, "\(line)")
        }
        #expect(lines.contains("Test labels used for tuning: no"))
        #expect(lines.contains { $0.hasPrefix("Pseudo-labels: 11 selected (K = 4), precision ") })
        #expect(lines.contains { $0.hasSuffix(", balanced accuracy \(SyntheticRun.percent(SyntheticRun.selectionBalancedAccuracy))") })
    }

    // MARK: Behaviour

    @Test("A report that used test labels says so loudly")
    func testLabelsUsed() throws {
        let report = try SyntheticRun.report(usedTestLabels: true)
        #expect(RunReportWriter.markdown(report).contains("Test labels used for tuning: YES"))
        #expect(RunReportWriter.html(report).contains("statement warning"))
        #expect(resultsTable(report).contains("Test labels used for tuning: YES"))
    }

    @Test("Inconsistent reports are refused before anything is written")
    func validation() throws {
        let folder = try TemporaryFolder()
        let valid = try SyntheticRun.report()
        try valid.validate()
        // With a minimum confidence as the rule, a class may hold more than top_k selected images.
        var byConfidence = valid
        byConfidence.selection?.topK = 1
        byConfidence.selection?.minConfidence = 0.5
        try byConfidence.validate()

        var shortPerClass = valid
        shortPerClass.methods[1].perClassAccuracy.removeLast()
        var wrongTop1 = valid
        wrongTop1.methods[0].top1Accuracy += 0.01
        var wrongTotal = valid
        wrongTotal.summary.testCount += 1
        var duplicate = valid
        duplicate.methods[2].name = duplicate.methods[1].name
        var offGrid = valid
        offGrid.modelSelection?.choices["information_maximization"] = 9
        var selectionSum = valid
        selectionSum.selection?.selectedCount += 1
        var overK = valid
        overK.selection?.topK = 3
        overK.selection?.minConfidence = nil  // K bounds the counts only when it is the rule
        var diverged = valid
        diverged.methods[1].trainingLosses?[0] = .nan
        var wrongBalanced = valid
        wrongBalanced.methods[2].balancedAccuracy += 0.01
        var selectionBalanced = valid
        selectionBalanced.selection?.balancedAccuracy = 1.5
        let cases: [(RunReport, String)] = [
            (shortPerClass, "methods[1].perClassAccuracy"), (wrongTop1, "methods[0].top1Accuracy"),
            (wrongTotal, "methods[0].confusionMatrix"), (duplicate, "methods[2].name"),
            (offGrid, "modelSelection.choices.information_maximization"), (selectionSum, "selection.selectedCount"),
            (overK, "selection.selectedPerClass[0]"), (diverged, "methods[1].trainingLosses[0]"),
            (wrongBalanced, "methods[2].balancedAccuracy"), (selectionBalanced, "selection.balancedAccuracy"),
        ]
        for (report, field) in cases {
            let target = folder.url.appendingPathComponent(field)
            do {
                try RunReportWriter.write(report, to: target)
                Issue.record("no error for \(field)")
            } catch let ReportError.inconsistentReport(reportedField, _) {
                #expect(reportedField == field)
            }
            #expect(!FileManager.default.fileExists(atPath: target.path))
            // Rendering without validation shows gaps instead of trapping.
            #expect(RunReportWriter.markdown(report).contains("Test labels used for tuning"))
            #expect(RunReportWriter.html(report).contains("</html>"))
        }
    }

    @Test("A metrics.json written before balanced accuracy existed reads back with it computed from the per-class accuracies")
    func metricsWithoutBalancedAccuracy() throws {
        let folder = try TemporaryFolder()
        let report = try SyntheticRun.report()
        try RunReportWriter.write(report, to: folder.url)
        let file = folder.url.appendingPathComponent("metrics.json")
        // Drop every balanced-accuracy key, as an older tool wrote the file.
        let lines = try text("metrics.json", in: folder.url).components(separatedBy: "\n")
        let old = lines.filter { !$0.contains("\"balancedAccuracy\"") && !$0.contains("\"balancedDeltaVersusZeroShot\"") }
        // 4 methods, 4 result rows, 3 deltas (none for zero-shot itself), the selection.
        #expect(lines.count - old.count == 4 + 4 + 3 + 1)
        try old.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let decoded = try RunReport.load(metricsFile: file)
        for (method, expected) in zip(decoded.methods, SyntheticRun.methods) {
            #expect(abs(method.balancedAccuracy - SyntheticRun.balancedAccuracy(expected.4)) < 1e-12)
        }
        #expect(decoded.selection?.balancedAccuracy == nil)
        try decoded.validate()
        #expect(RunReportWriter.markdown(decoded).contains("| 4 | 0.6 | 11 | 29 | 1 | "))
    }

    @Test("On a long-tailed test split balanced accuracy shows the tail that top-1 hides")
    func longTailedBalancedAccuracy() throws {
        // 9 images of class 0, all right; 1 image of class 1, wrong: top-1 90%, balanced 50%.
        let confusion = try ConfusionMatrix(trueLabels: Array(repeating: 0, count: 9) + [1], predictedLabels: Array(repeating: 0, count: 10), classCount: 3)
        #expect(confusion.accuracy == 0.9)
        #expect(confusion.balancedAccuracy == 0.5)  // class 2 has no test image and is left out
        let result = MethodResult(name: "M", kind: .baseline, usesLabels: false, confusion: confusion)
        #expect(result.balancedAccuracy == 0.5)
    }

    @Test("More than 60 classes: the 20 largest and 20 smallest UP-Adapter gains, with a note")
    func manyClasses() throws {
        let classCount = 100
        let names = (0..<classCount).map { "class \($0)" }
        // Zero-shot 50% everywhere; UP-Adapter's gain grows with the label's position in a fixed shuffle.
        let order = (0..<classCount).map { ($0 * 37) % classCount }
        var adapter = [Double](repeating: 0, count: classCount)
        for (rank, label) in order.enumerated() { adapter[label] = Double(rank) / Double(classCount) }
        let zeroShot = [Double](repeating: 0.5, count: classCount)
        let mean = { (values: [Double]) in values.reduce(0, +) / Double(values.count) }
        let report = RunReport(
            summary: RunSummary(
                configurationName: "many", configurationPath: "/many.yaml", timestamp: "2026-01-01T00:00:00Z", seed: 1,
                deviceName: "cpu", deviceDescription: "", toolVersion: "test", modelDirectory: "/m", modelDigest: "sha256:0",
                datasetName: "Many", unlabeledSplit: "train", unlabeledCount: 1000, testSplit: "test", testCount: 1000, classNames: names),
            selection: nil,
            methods: [
                MethodResult(name: "Zero-shot CLIP", kind: .zeroShot, usesLabels: false, top1Accuracy: mean(zeroShot), perClassAccuracy: zeroShot, confusionMatrix: []),
                MethodResult(name: "UP-Adapter", kind: .upAdapter, usesLabels: false, top1Accuracy: mean(adapter), perClassAccuracy: adapter, confusionMatrix: []),
            ])
        let markdown = RunReportWriter.markdown(report)
        let rows = markdown.components(separatedBy: "\n").filter { $0.hasPrefix("| ") && $0.contains("| class ") }
        #expect(rows.count == 40)
        // Best first: the last labels of the shuffle, then the first ones.
        let best = order.suffix(20).reversed().map { "| \($0) | class \($0) |" }
        let worst = order.prefix(20).reversed().map { "| \($0) | class \($0) |" }
        for (row, prefix) in zip(rows, best + worst) {
            #expect(row.hasPrefix(prefix + " "), "\(row) does not start with \(prefix)")
        }
        #expect(markdown.contains("100 classes: showing the 20 with the largest and the 20 with the smallest UP-Adapter gain"))
        #expect(markdown.contains("No model selection ran in this run."))
        #expect(markdown.contains("Test labels used for tuning: no"))
        // The per-class chart has one row label per shown class.
        let html = RunReportWriter.html(report)
        #expect(html.components(separatedBy: "<svg ").count - 1 == 2)  // top-1 and per-class
        for label in order.suffix(20) + order.prefix(20) {
            #expect(html.contains("<title>class \(label)</title>class \(label)</text>"))
        }
    }

    @Test("Undefined per-class values are null in metrics.json and NaN when read back")
    func undefinedValues() throws {
        var report = try SyntheticRun.report()
        report.selection?.perClassPrecision[1] = .nan
        report.selection?.selectedPerClass = [4, 0, 7]
        report.selection?.topK = 7
        report.methods = report.methods.map { method in
            var copy = method
            copy.confusionMatrix = []
            copy.perClassAccuracy[2] = .nan
            // Balanced accuracy leaves out the undefined class: the mean of the other two.
            copy.balancedAccuracy = (copy.perClassAccuracy[0] + copy.perClassAccuracy[1]) / 2
            return copy
        }
        let folder = try TemporaryFolder()
        try RunReportWriter.write(report, to: folder.url)
        let metrics = try text("metrics.json", in: folder.url)
        #expect(metrics.contains("\"perClassPrecision\": [\(report.selection?.perClassPrecision[0] ?? 0), null, "))
        let decoded = try RunReport.load(metricsFile: folder.url.appendingPathComponent("metrics.json"))
        #expect(decoded.selection?.perClassPrecision[1].isNaN == true)
        #expect(decoded.methods.allSatisfy { $0.perClassAccuracy[2].isNaN && !$0.perClassAccuracy[0].isNaN })
        let markdown = try text("report.md", in: folder.url)
        #expect(markdown.contains("| 2 | dog\\|wolf | 7 | "))
    }

    @Test("Writing again replaces the files and leaves no temporary file")
    func atomicRewrite() throws {
        let folder = try TemporaryFolder()
        var report = try SyntheticRun.report()
        try RunReportWriter.write(report, to: folder.url)
        report.summary.notes = ["second run"]
        try RunReportWriter.write(report, to: folder.url)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.url.path).sorted()
        #expect(names == ["metrics.json", "report.html", "report.md"])
        #expect(try text("report.md", in: folder.url).contains("- second run"))
        #expect(try RunReport.load(metricsFile: folder.url.appendingPathComponent("metrics.json")) == report)

        // A run folder that cannot be created is named in the error.
        let blocker = try folder.write("file", "not a folder")
        #expect(throws: ReportError.self) { try RunReportWriter.write(report, to: blocker.appendingPathComponent("run")) }
    }

    @Test("The strict XML reader used on report.html rejects what libxml2's recovering parser lets through")
    func xmlCheckerIsStrict() {
        #if canImport(FoundationXML) || os(macOS)
        #expect(XMLOutline("<a class=\"x\" class=\"y\"/>") == nil)
        #expect(XMLOutline("<a><b></a>") == nil)
        #expect(XMLOutline("<a>&nbsp;</a>") == nil)
        #expect(XMLOutline("<a>&lt;&amp;</a>") != nil)
        #endif
    }

    @Test("Pretty JSON keeps plain arrays on one line and the same values")
    func prettyJSON() throws {
        let compact = #"{"a":[1,2.5,"x,]"],"b":{"c":[[1,2],[3,4]],"d":[],"e":{}},"f":"q\"{"}"#
        let pretty = String(decoding: PrettyJSON.format(Array(compact.utf8)), as: UTF8.self)
        let expected = """
        {
          "a": [1, 2.5, "x,]"],
          "b": {
            "c": [
              [1, 2],
              [3, 4]
            ],
            "d": [],
            "e": {}
          },
          "f": "q\\"{"
        }

        """
        #expect(pretty == expected)
    }
}

#if canImport(FoundationXML) || os(macOS)
/// Element counts and table-cell texts of an XML document, read with `XMLParser`; nil when the
/// text is not well-formed (a parse error, or start and end tags that do not pair up, which
/// the Linux parser lets through on its own).
private final class XMLOutline: NSObject, XMLParserDelegate {
    private(set) var root: String?
    private(set) var counts: [String: Int] = [:]
    private(set) var cellTexts: [String] = []
    private var open: [String] = []
    private var mismatched = false
    private var failed = false
    private var cellDepth = 0
    private var cell = ""

    init?(_ text: String) {
        super.init()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = self
        guard parser.parse(), !failed, !mismatched, open.isEmpty, root != nil else { return nil }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        failed = true
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if root == nil { root = name } else if open.isEmpty { mismatched = true }
        open.append(name)
        counts[name, default: 0] += 1
        if name == "td" || name == "th" {
            cellDepth += 1
            cell = ""
        }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if open.popLast() != name { mismatched = true }
        if name == "td" || name == "th" {
            cellDepth -= 1
            cellTexts.append(cell)
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if cellDepth > 0 { cell += string }
    }
}
#endif
