/// The four charts of `report.html`, drawn with `SVGCanvas`.
enum ReportCharts {
    static let width = 760.0

    enum Palette {
        static let zeroShot = "#9aa5b1"
        static let upAdapter = "#1f5fbf"
        static let labelFree = "#6fa3de"
        static let labeled = "#f0a050"
        static let labeledStripe = "#a35200"
        static let selected = "#1f5fbf"
        static let rejected = "#e08a3c"
        static let gain = "#2e8b57"
        static let loss = "#c0392b"
        static let grid = "#e3e6ea"
        static let axis = "#555"
        /// Lines of the loss chart, in method order.
        static let series = ["#1f5fbf", "#e08a3c", "#2e8b57", "#c0392b", "#7d5ba6", "#8c6d31", "#17a2b8", "#d63384"]
    }

    // MARK: 1. Top-1 per method

    /// Horizontal bars of top-1 accuracy per method; methods that use labels are hatched orange,
    /// zero-shot is grey, label-free methods blue; a dark tick on each bar marks the method's
    /// balanced accuracy; a dashed line marks zero-shot's accuracy.
    static func topOneAccuracy(_ report: RunReport) -> String {
        let methods = report.methods
        let shownNames = methods.map { TextEscaping.truncated($0.name, limit: 46) }
        let labelWidth = min(360, max(90, (shownNames.map { SVGCanvas.textWidth($0) }.max() ?? 0) + 12))
        let top = 34.0, rowHeight = 26.0, bottom = 40.0
        let height = top + rowHeight * Double(max(methods.count, 1)) + bottom
        var canvas = SVGCanvas(width: width, height: height, identifier: "top1")
        canvas.addHatchPattern("labels", background: Palette.labeled, stripe: Palette.labeledStripe)
        let highest = (methods.map(\.top1Accuracy) + methods.map(\.balancedAccuracy)).filter(\.isFinite).max() ?? 1
        let ticks = AxisTicks.nice(lower: 0, upper: max(min(highest, 1), 0.1), count: 5)
        let scale = LinearScale(domain: 0...(ticks.last ?? 1), range: (labelWidth, width - 110))
        drawVerticalGrid(&canvas, ticks: ticks, scale: scale, top: top - 4, bottom: height - bottom, label: { percentTick($0) })
        canvas.text("Top-1 accuracy on the test split", at: SVGPoint(x: scale(((ticks.first ?? 0) + (ticks.last ?? 1)) / 2), y: height - 8), anchor: .middle)
        drawLegend(&canvas, at: SVGPoint(x: 10, y: 14), entries: [
            (Palette.zeroShot, "zero-shot"), (Palette.upAdapter, "UP-Adapter"), (Palette.labelFree, "other label-free"),
            (canvas.reference("labels"), "uses labels"),
        ])
        for (row, method) in methods.enumerated() {
            let y = top + rowHeight * Double(row)
            let fill: String
            switch (method.kind, method.usesLabels) {
            case (_, true): fill = canvas.reference("labels")
            case (.zeroShot, false): fill = Palette.zeroShot
            case (.upAdapter, false): fill = Palette.upAdapter
            case (.baseline, false): fill = Palette.labelFree
            }
            let value = method.top1Accuracy.isFinite ? method.top1Accuracy : 0
            let delta = report.deltaVersusZeroShot(method).map { " (\(ReportFormat.points($0)) pp vs zero-shot)" } ?? ""
            canvas.text(shownNames[row], at: SVGPoint(x: labelWidth - 8, y: y + 17), anchor: .end, tooltip: method.name)
            canvas.rect(x: scale(0), y: y + 4, width: scale(value) - scale(0), height: rowHeight - 8, fill: fill,
                        stroke: method.usesLabels ? Palette.labeledStripe : nil,
                        tooltip: "\(method.name): \(ReportFormat.percent(method.top1Accuracy))\(delta), balanced \(ReportFormat.percent(method.balancedAccuracy))")
            if method.balancedAccuracy.isFinite {
                let x = scale(method.balancedAccuracy)
                canvas.line(from: SVGPoint(x: x, y: y + 2), to: SVGPoint(x: x, y: y + rowHeight - 2), stroke: Palette.axis, width: 2.5)
            }
            let shownDelta = report.deltaVersusZeroShot(method).map { " (\(ReportFormat.points($0)))" } ?? ""
            canvas.text(ReportFormat.percent(method.top1Accuracy) + shownDelta, at: SVGPoint(x: scale(value) + 5, y: y + 17), size: 11)
        }
        if let zeroShot = report.zeroShot, zeroShot.top1Accuracy.isFinite {
            let x = scale(zeroShot.top1Accuracy)
            canvas.line(from: SVGPoint(x: x, y: top - 2), to: SVGPoint(x: x, y: height - bottom), stroke: Palette.axis, width: 1, dash: "4 3")
        }
        return canvas.render(title: "Top-1 accuracy per method (hatched: uses labels; dark tick: balanced accuracy)")
    }

    // MARK: 2. Per-class accuracy, zero-shot vs UP-Adapter

    /// One row per class in `labels`: zero-shot (grey dot) and UP-Adapter (blue dot) joined by a
    /// green line where UP-Adapter gains, red where it loses.
    static func perClassAccuracy(_ report: RunReport, labels: [Int]) -> String? {
        guard let zeroShot = report.zeroShot, let adapter = report.upAdapter else { return nil }
        let names = report.summary.classNames
        let shownNames = labels.map { TextEscaping.truncated(names[$0], limit: 34) }
        let labelWidth = min(260, max(80, (shownNames.map { SVGCanvas.textWidth($0, size: 11) }.max() ?? 0) + 12))
        let top = 34.0, rowHeight = 16.0, bottom = 40.0
        let height = top + rowHeight * Double(max(labels.count, 1)) + bottom
        var canvas = SVGCanvas(width: width, height: height, identifier: "perclass")
        let ticks = AxisTicks.nice(lower: 0, upper: 1, count: 10)
        let scale = LinearScale(domain: 0...1, range: (labelWidth, width - 20))
        for row in stride(from: 0, to: labels.count, by: 2) {
            canvas.rect(x: labelWidth, y: top + rowHeight * Double(row), width: width - 20 - labelWidth, height: rowHeight, fill: "#f6f7f9")
        }
        drawVerticalGrid(&canvas, ticks: ticks, scale: scale, top: top - 4, bottom: height - bottom, label: { percentTick($0) })
        canvas.text("Accuracy of the class on the test split", at: SVGPoint(x: scale(0.5), y: height - 8), anchor: .middle)
        drawLegend(&canvas, at: SVGPoint(x: labelWidth, y: 14), entries: [
            (Palette.zeroShot, zeroShot.name), (Palette.upAdapter, adapter.name), (Palette.gain, "gain"), (Palette.loss, "loss"),
        ])
        for (row, label) in labels.enumerated() {
            let y = top + rowHeight * (Double(row) + 0.5)
            let before = zeroShot.perClassAccuracy[reportIndex: label] ?? .nan, after = adapter.perClassAccuracy[reportIndex: label] ?? .nan
            let tooltip = "\(names[label]): \(zeroShot.name) \(ReportFormat.percent(before)), \(adapter.name) \(ReportFormat.percent(after))"
            canvas.text(shownNames[row], at: SVGPoint(x: labelWidth - 6, y: y + 4), anchor: .end, size: 11, tooltip: names[label])
            if before.isFinite, after.isFinite {
                canvas.line(from: SVGPoint(x: scale(before), y: y), to: SVGPoint(x: scale(after), y: y),
                            stroke: after >= before ? Palette.gain : Palette.loss, width: 2.5)
            }
            if before.isFinite { canvas.circle(center: SVGPoint(x: scale(before), y: y), radius: 4, fill: Palette.zeroShot, tooltip: tooltip) }
            if after.isFinite { canvas.circle(center: SVGPoint(x: scale(after), y: y), radius: 4, fill: Palette.upAdapter, tooltip: tooltip) }
        }
        return canvas.render(title: "Per-class accuracy: \(zeroShot.name) and \(adapter.name)")
    }

    // MARK: Class marginal

    /// One row per class: the estimated share of the pool (blue bar) over zero-shot's predicted
    /// share (grey bar).
    static func classMarginal(_ record: ClassMarginalRecord, classNames: [String]) -> String {
        let rows = record.estimatedShares.count
        let shownNames = (0..<rows).map { TextEscaping.truncated($0 < classNames.count ? classNames[$0] : "class \($0)", limit: 34) }
        let labelWidth = min(260, max(80, (shownNames.map { SVGCanvas.textWidth($0, size: 11) }.max() ?? 0) + 12))
        let top = 34.0, rowHeight = 18.0, bottom = 40.0
        let height = top + rowHeight * Double(max(rows, 1)) + bottom
        var canvas = SVGCanvas(width: width, height: height, identifier: "classmarginal")
        let largest = max(record.estimatedShares.max() ?? 0, record.zeroShotShares.max() ?? 0, 1e-9)
        let ticks = AxisTicks.nice(lower: 0, upper: largest, count: 6)
        let scale = LinearScale(domain: 0...(ticks.last ?? largest), range: (labelWidth, width - 20))
        drawVerticalGrid(&canvas, ticks: ticks, scale: scale, top: top - 4, bottom: height - bottom, label: { percentTick($0) })
        canvas.text("Share of the unlabeled pool", at: SVGPoint(x: scale((ticks.last ?? largest) / 2), y: height - 8), anchor: .middle)
        drawLegend(&canvas, at: SVGPoint(x: labelWidth, y: 14), entries: [
            (Palette.upAdapter, "estimated by \(record.method)"), (Palette.zeroShot, "zero-shot's predictions"),
        ])
        for row in 0..<rows {
            let y = top + rowHeight * Double(row)
            let estimated = record.estimatedShares[row], predicted = row < record.zeroShotShares.count ? record.zeroShotShares[row] : 0
            canvas.text(shownNames[row], at: SVGPoint(x: labelWidth - 6, y: y + 13), anchor: .end, size: 11)
            canvas.rect(x: labelWidth, y: y + 2, width: max(0, scale(estimated) - labelWidth), height: 7, fill: Palette.upAdapter,
                        tooltip: "\(shownNames[row]): estimated \(ReportFormat.percent(estimated))")
            canvas.rect(x: labelWidth, y: y + 9, width: max(0, scale(predicted) - labelWidth), height: 7, fill: Palette.zeroShot,
                        tooltip: "\(shownNames[row]): zero-shot \(ReportFormat.percent(predicted))")
        }
        return canvas.render(title: "Class shares of the pool: estimated and predicted by zero-shot")
    }

    // MARK: 3. Confidence of selected and rejected images

    /// Side-by-side bars per confidence bin (20 over [0, 1]): the share of selected images (blue)
    /// and of rejected images (orange) in each bin; a dashed line at the minimum confidence.
    static func confidenceHistogram(_ selection: SelectionSummary) -> String {
        let selected = selection.selectedHistogram, rejected = selection.rejectedHistogram
        let height = 300.0, left = 60.0, right = 20.0, top = 34.0, bottom = 44.0
        var canvas = SVGCanvas(width: width, height: height, identifier: "confidence")
        let highest = (selected.fractions + rejected.fractions).max() ?? 1
        let yTicks = AxisTicks.nice(lower: 0, upper: max(highest, 0.05), count: 5)
        let y = LinearScale(domain: 0...(yTicks.last ?? 1), range: (height - bottom, top))
        let x = LinearScale(domain: 0...1, range: (left, width - right))
        for tick in yTicks {
            canvas.line(from: SVGPoint(x: left, y: y(tick)), to: SVGPoint(x: width - right, y: y(tick)), stroke: Palette.grid)
            canvas.text(percentTick(tick), at: SVGPoint(x: left - 6, y: y(tick) + 4), anchor: .end, size: 11)
        }
        for tick in stride(from: 0.0, through: 1.0, by: 0.1) {
            canvas.text(ReportFormat.number((tick * 10).rounded() / 10), at: SVGPoint(x: x(tick), y: height - bottom + 16), anchor: .middle, size: 11)
        }
        canvas.line(from: SVGPoint(x: left, y: height - bottom), to: SVGPoint(x: width - right, y: height - bottom), stroke: Palette.axis)
        canvas.text("Zero-shot confidence (max softmax probability)", at: SVGPoint(x: x(0.5), y: height - 8), anchor: .middle)
        canvas.text("Share of the set", at: SVGPoint(x: 14, y: (top + height - bottom) / 2), anchor: .middle, rotation: -90)
        drawLegend(&canvas, at: SVGPoint(x: left, y: 14), entries: [
            (Palette.selected, "selected (n = \(selected.total))"), (Palette.rejected, "rejected (n = \(rejected.total))"),
        ])
        let binWidth = x(selected.edges[1]) - x(selected.edges[0])
        for bin in selected.counts.indices {
            let start = x(selected.edges[bin])
            let range = "\(ReportFormat.number(selected.edges[bin]))–\(ReportFormat.number(selected.edges[bin + 1]))"
            for (offset, histogram, color, name) in [(0.0, selected, Palette.selected, "selected"), (1.0, rejected, Palette.rejected, "rejected")] {
                let share = histogram.fractions[bin]
                guard histogram.counts[bin] > 0 else { continue }
                canvas.rect(x: start + 1 + offset * (binWidth - 2) / 2, y: y(share), width: (binWidth - 2) / 2, height: y(0) - y(share),
                            fill: color, tooltip: "\(name), confidence \(range): \(histogram.counts[bin]) images (\(ReportFormat.percent(share)))")
            }
        }
        if let minimum = selection.minConfidence {
            canvas.line(from: SVGPoint(x: x(minimum), y: top - 4), to: SVGPoint(x: x(minimum), y: height - bottom), stroke: Palette.axis, dash: "4 3")
            canvas.text("min confidence", at: SVGPoint(x: x(minimum) + 4, y: top + 8), size: 11)
        }
        return canvas.render(title: "Confidence of selected and rejected images")
    }

    // MARK: 4. Training loss

    /// One line per trained method: mean loss per epoch.
    static func trainingLoss(_ report: RunReport) -> String? {
        let trained = report.methods.filter { !($0.trainingLosses ?? []).isEmpty }
        guard !trained.isEmpty else { return nil }
        let epochs = trained.map { $0.trainingLosses?.count ?? 0 }.max() ?? 1
        let values = trained.flatMap { $0.trainingLosses ?? [] }.filter(\.isFinite)
        let height = 320.0, left = 64.0, right = 20.0, top = 34.0 + 16 * Double((trained.count - 1) / 3), bottom = 44.0
        var canvas = SVGCanvas(width: width, height: height, identifier: "loss")
        let yTicks = AxisTicks.nice(lower: values.min() ?? 0, upper: values.max() ?? 1, count: 5)
        let y = LinearScale(domain: (yTicks.first ?? 0)...(yTicks.last ?? 1), range: (height - bottom, top))
        let xTicks = AxisTicks.nice(lower: 1, upper: Double(max(epochs, 2)), count: 8).filter { $0 >= 1 && $0 <= Double(max(epochs, 2)) }
        let x = LinearScale(domain: 1...Double(max(epochs, 2)), range: (left, width - right))
        for tick in yTicks {
            canvas.line(from: SVGPoint(x: left, y: y(tick)), to: SVGPoint(x: width - right, y: y(tick)), stroke: Palette.grid)
            canvas.text(ReportFormat.number(tick), at: SVGPoint(x: left - 6, y: y(tick) + 4), anchor: .end, size: 11)
        }
        for tick in Set(xTicks + [1]).sorted() {
            canvas.text(String(Int(tick)), at: SVGPoint(x: x(tick), y: height - bottom + 16), anchor: .middle, size: 11)
        }
        canvas.line(from: SVGPoint(x: left, y: height - bottom), to: SVGPoint(x: width - right, y: height - bottom), stroke: Palette.axis)
        canvas.text("Epoch", at: SVGPoint(x: (left + width - right) / 2, y: height - 8), anchor: .middle)
        canvas.text("Mean training loss", at: SVGPoint(x: 14, y: (top + height - bottom) / 2), anchor: .middle, rotation: -90)
        let entries = trained.enumerated().map { (Palette.series[$0.offset % Palette.series.count], $0.element.name) }
        drawLegend(&canvas, at: SVGPoint(x: left, y: 14), entries: entries)
        for (index, method) in trained.enumerated() {
            let color = Palette.series[index % Palette.series.count]
            let losses = method.trainingLosses ?? []
            var segment: [SVGPoint] = []
            for (epoch, loss) in losses.enumerated() {
                guard loss.isFinite else {
                    canvas.polyline(segment, stroke: color)
                    segment = []
                    continue
                }
                segment.append(SVGPoint(x: x(Double(epoch + 1)), y: y(loss)))
            }
            canvas.polyline(segment, stroke: color)
            if losses.count <= 40 {
                for (epoch, loss) in losses.enumerated() where loss.isFinite {
                    canvas.circle(center: SVGPoint(x: x(Double(epoch + 1)), y: y(loss)), radius: 3, fill: color,
                                  tooltip: "\(method.name), epoch \(epoch + 1): \(ReportFormat.loss(loss))")
                }
            }
        }
        return canvas.render(title: "Training loss per epoch")
    }

    /// Every candidate of a model selection as a point: its `criterion` score (x) against the
    /// test accuracy it reached (y, analysis); the criterion's choice is drawn larger.
    static func criterionScores(_ selection: ModelSelectionRecord, criterion: String) -> String? {
        let points = selection.candidates.enumerated().compactMap { index, candidate -> (Int, Double, Double)? in
            guard let score = candidate.scores[criterion], score.isFinite, candidate.testAccuracy.isFinite else { return nil }
            return (index, score, candidate.testAccuracy)
        }
        guard !points.isEmpty else { return nil }
        let height = 300.0, left = 64.0, right = 20.0, top = 30.0, bottom = 44.0
        var canvas = SVGCanvas(width: width, height: height, identifier: "criterion-\(criterion)")
        let xTicks = AxisTicks.nice(lower: points.map(\.1).min() ?? 0, upper: points.map(\.1).max() ?? 1, count: 6)
        let yTicks = AxisTicks.nice(lower: points.map(\.2).min() ?? 0, upper: points.map(\.2).max() ?? 1, count: 5)
        let x = LinearScale(domain: (xTicks.first ?? 0)...(xTicks.last ?? 1), range: (left, width - right))
        let y = LinearScale(domain: (yTicks.first ?? 0)...(yTicks.last ?? 1), range: (height - bottom, top))
        for tick in yTicks {
            canvas.line(from: SVGPoint(x: left, y: y(tick)), to: SVGPoint(x: width - right, y: y(tick)), stroke: Palette.grid)
            canvas.text(percentTick(tick), at: SVGPoint(x: left - 6, y: y(tick) + 4), anchor: .end, size: 11)
        }
        for tick in xTicks {
            canvas.text(ReportFormat.number((tick * 1000).rounded() / 1000), at: SVGPoint(x: x(tick), y: height - bottom + 16), anchor: .middle, size: 11)
        }
        canvas.line(from: SVGPoint(x: left, y: height - bottom), to: SVGPoint(x: width - right, y: height - bottom), stroke: Palette.axis)
        canvas.text("\(criterion) score (label-free)", at: SVGPoint(x: (left + width - right) / 2, y: height - 8), anchor: .middle)
        canvas.text("Test top-1 (analysis)", at: SVGPoint(x: 14, y: (top + height - bottom) / 2), anchor: .middle, rotation: -90)
        let chosen = selection.choices[criterion]
        for (index, score, accuracy) in points where index != chosen {
            let candidate = selection.candidates[index]
            canvas.circle(center: SVGPoint(x: x(score), y: y(accuracy)), radius: 3, fill: Palette.labelFree,
                          tooltip: "\(candidate.rule), α \(ReportFormat.number(candidate.alpha)), β \(ReportFormat.number(candidate.beta)): "
                              + "score \(ReportFormat.number((score * 10000).rounded() / 10000)), test \(ReportFormat.percent(accuracy))")
        }
        if let chosen, let point = points.first(where: { $0.0 == chosen }) {
            canvas.circle(center: SVGPoint(x: x(point.1), y: y(point.2)), radius: 6, fill: Palette.upAdapter, stroke: Palette.axis,
                          tooltip: "chosen: \(selection.candidates[chosen].rule), test \(ReportFormat.percent(point.2))")
        }
        return canvas.render(title: "Model selection by \(criterion): score against test accuracy")
    }

    // MARK: Shared pieces

    private static func percentTick(_ fraction: Double) -> String {
        ReportFormat.number((fraction * 1000).rounded() / 10) + "%"
    }

    /// Vertical grid lines with labels under the plot.
    private static func drawVerticalGrid(
        _ canvas: inout SVGCanvas, ticks: [Double], scale: LinearScale, top: Double, bottom: Double, label: (Double) -> String
    ) {
        for tick in ticks {
            canvas.line(from: SVGPoint(x: scale(tick), y: top), to: SVGPoint(x: scale(tick), y: bottom), stroke: Palette.grid)
            canvas.text(label(tick), at: SVGPoint(x: scale(tick), y: bottom + 15), anchor: .middle, size: 11)
        }
        canvas.line(from: SVGPoint(x: scale(ticks.first ?? 0), y: bottom), to: SVGPoint(x: scale(ticks.last ?? 1), y: bottom), stroke: Palette.axis)
    }

    /// Swatches with names in a row (wrapping), from `origin`.
    private static func drawLegend(_ canvas: inout SVGCanvas, at origin: SVGPoint, entries: [(fill: String, name: String)]) {
        var x = origin.x, y = origin.y
        for entry in entries {
            let name = TextEscaping.truncated(entry.name, limit: 40)
            let entryWidth = 18 + SVGCanvas.textWidth(name, size: 11) + 16
            if x + entryWidth > width - 10, x > origin.x {
                x = origin.x
                y += 16
            }
            canvas.rect(x: x, y: y - 9, width: 12, height: 12, fill: entry.fill, stroke: "#666")
            canvas.text(name, at: SVGPoint(x: x + 17, y: y + 1), size: 11, tooltip: entry.name)
            x += entryWidth
        }
    }
}
