import PseudoLabeling

extension RunReport {
    /// Checks that the report's numbers agree with each other before anything is written:
    /// one accuracy per class, square confusion matrices whose counts add up to the test split
    /// and match the accuracies, per-class selections that add up to the selected count,
    /// fractions in [0, 1], unique method names, finite training losses, and model-selection
    /// choices that point at candidates.
    /// - Throws: `ReportError.inconsistentReport` naming the first offending field.
    public func validate() throws {
        let classCount = summary.classNames.count
        guard classCount > 0 else { throw inconsistent("summary.classNames", "no class names") }
        guard summary.testCount >= 0 else { throw inconsistent("summary.testCount", "negative (\(summary.testCount))") }
        guard summary.unlabeledCount >= 0 else {
            throw inconsistent("summary.unlabeledCount", "negative (\(summary.unlabeledCount))")
        }
        for (phase, seconds) in summary.phaseSeconds where !(seconds >= 0) {
            throw inconsistent("summary.phaseSeconds.\(phase)", "\(seconds) is not a duration")
        }
        var names = Set<String>()
        for (index, method) in methods.enumerated() {
            guard !method.name.isEmpty else { throw inconsistent("methods[\(index)].name", "empty") }
            guard names.insert(method.name).inserted else {
                throw inconsistent("methods[\(index)].name", "'\(method.name)' appears twice")
            }
            try validate(method, field: "methods[\(index)]", classCount: classCount)
        }
        if let selection { try validate(selection, classCount: classCount) }
        if let modelSelection { try validate(modelSelection) }
    }

    private func validate(_ method: MethodResult, field: String, classCount: Int) throws {
        try checkFraction(method.top1Accuracy, field: "\(field).top1Accuracy", allowUndefined: false)
        guard method.perClassAccuracy.count == classCount else {
            throw inconsistent("\(field).perClassAccuracy", "\(method.perClassAccuracy.count) values for \(classCount) classes")
        }
        for (label, value) in method.perClassAccuracy.enumerated() {
            try checkFraction(value, field: "\(field).perClassAccuracy[\(label)]", allowUndefined: true)
        }
        let balanced = ClassificationMetrics.balancedAccuracy(perClassAccuracy: method.perClassAccuracy)
        try checkFraction(method.balancedAccuracy, field: "\(field).balancedAccuracy", allowUndefined: balanced.isNaN)
        guard Self.close(balanced, method.balancedAccuracy) else {
            throw inconsistent("\(field).balancedAccuracy", "\(method.balancedAccuracy) but the per-class accuracies give \(balanced)")
        }
        if let shots = method.shots, shots < 1 { throw inconsistent("\(field).shots", "must be at least 1, found \(shots)") }
        if let losses = method.trainingLosses, let epoch = losses.firstIndex(where: { !$0.isFinite }) {
            throw inconsistent("\(field).trainingLosses[\(epoch)]", "\(losses[epoch]) is not finite (training diverged)")
        }
        if !method.confusionMatrix.isEmpty {
            guard method.confusionMatrix.count == classCount else {
                throw inconsistent("\(field).confusionMatrix", "\(method.confusionMatrix.count) rows for \(classCount) classes")
            }
            let matrix: ConfusionMatrix
            do {
                matrix = try ConfusionMatrix(counts: method.confusionMatrix)
            } catch ReportError.inconsistentReport(let inner, let reason) {
                throw inconsistent("\(field).\(inner)", reason)
            }
            guard matrix.total == summary.testCount else {
                throw inconsistent("\(field).confusionMatrix", "counts add up to \(matrix.total), the test split has \(summary.testCount) images")
            }
            guard Self.close(matrix.accuracy, method.top1Accuracy) else {
                throw inconsistent("\(field).top1Accuracy", "\(method.top1Accuracy) but the confusion matrix gives \(matrix.accuracy)")
            }
            for (label, (fromMatrix, stated)) in zip(matrix.perClassAccuracy, method.perClassAccuracy).enumerated()
            where !Self.close(fromMatrix, stated) {
                throw inconsistent("\(field).perClassAccuracy[\(label)]", "\(stated) but the confusion matrix gives \(fromMatrix)")
            }
        }
    }

    private func validate(_ selection: SelectionSummary, classCount: Int) throws {
        guard selection.topK >= 1 else { throw inconsistent("selection.topK", "must be at least 1, found \(selection.topK)") }
        if let minimum = selection.minConfidence {
            try checkFraction(minimum, field: "selection.minConfidence", allowUndefined: false)
        }
        guard selection.selectedPerClass.count == classCount else {
            throw inconsistent("selection.selectedPerClass", "\(selection.selectedPerClass.count) values for \(classCount) classes")
        }
        // K bounds the classes' counts only when it is the rule (a minimum confidence keeps any number).
        let bound = selection.minConfidence == nil ? selection.topK : Int.max
        if let label = selection.selectedPerClass.firstIndex(where: { $0 < 0 || $0 > bound }) {
            throw inconsistent("selection.selectedPerClass[\(label)]", "\(selection.selectedPerClass[label]) is outside 0...\(selection.topK) (K)")
        }
        let sum = selection.selectedPerClass.reduce(0, +)
        guard sum == selection.selectedCount else {
            throw inconsistent("selection.selectedCount", "\(selection.selectedCount) but the classes add up to \(sum)")
        }
        guard selection.selectedCount <= summary.unlabeledCount else {
            throw inconsistent("selection.selectedCount", "\(selection.selectedCount) exceeds the \(summary.unlabeledCount) unlabeled images")
        }
        try checkFraction(selection.precision, field: "selection.precision", allowUndefined: selection.selectedCount == 0)
        if let balanced = selection.balancedAccuracy {
            try checkFraction(balanced, field: "selection.balancedAccuracy", allowUndefined: selection.selectedCount == 0)
        }
        guard selection.perClassPrecision.count == classCount else {
            throw inconsistent("selection.perClassPrecision", "\(selection.perClassPrecision.count) values for \(classCount) classes")
        }
        for (label, value) in selection.perClassPrecision.enumerated() {
            try checkFraction(value, field: "selection.perClassPrecision[\(label)]", allowUndefined: selection.selectedPerClass[label] == 0)
        }
        guard selection.selectedConfidences.count <= selection.selectedCount else {
            throw inconsistent("selection.selectedConfidences", "\(selection.selectedConfidences.count) values for \(selection.selectedCount) selected images")
        }
        let rejected = summary.unlabeledCount - selection.selectedCount
        guard selection.rejectedConfidences.count <= rejected else {
            throw inconsistent("selection.rejectedConfidences", "\(selection.rejectedConfidences.count) values for \(rejected) rejected images")
        }
    }

    private func validate(_ selection: ModelSelectionRecord) throws {
        let field = "modelSelection"
        guard !selection.candidates.isEmpty else { throw inconsistent("\(field).candidates", "no candidate") }
        for (index, candidate) in selection.candidates.enumerated() {
            try checkFraction(candidate.testAccuracy, field: "\(field).candidates[\(index)].testAccuracy", allowUndefined: false)
            if let balanced = candidate.testBalancedAccuracy {
                try checkFraction(balanced, field: "\(field).candidates[\(index)].testBalancedAccuracy", allowUndefined: false)
            }
            for (name, score) in candidate.scores where !score.isFinite {
                throw inconsistent("\(field).candidates[\(index)].scores.\(name)", "\(score) is not finite")
            }
        }
        for (name, index) in selection.choices where !selection.candidates.indices.contains(index) {
            throw inconsistent("\(field).choices.\(name)", "\(index) is not a candidate")
        }
    }

    private func checkFraction(_ value: Double, field: String, allowUndefined: Bool) throws {
        if value.isNaN, allowUndefined { return }
        guard value >= 0, value <= 1 else { throw inconsistent(field, "\(value) is not a fraction in [0, 1]") }
    }

    private func inconsistent(_ field: String, _ reason: String) -> ReportError {
        .inconsistentReport(field: field, reason: reason)
    }

    /// Equal within 1e-6, or both NaN.
    static func close(_ lhs: Double, _ rhs: Double) -> Bool {
        (lhs.isNaN && rhs.isNaN) || abs(lhs - rhs) <= 1e-6
    }
}
