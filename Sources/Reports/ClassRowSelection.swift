/// Which classes the per-class table and chart show, and in which order.
///
/// Up to `limit` classes: all of them, by label. More: the `extremes` classes UP-Adapter gains
/// most on over zero-shot, then the `extremes` it gains least on (or loses most), with a note
/// saying so; without both methods, the first `limit` classes.
struct ClassRowSelection {
    /// Most classes shown in full.
    static let limit = 60
    /// Classes shown at each end when there are more than `limit`.
    static let extremes = 20

    /// Class labels to show, in order.
    let labels: [Int]
    /// Why not every class is shown, if so.
    let note: String?

    init(report: RunReport, limit: Int = ClassRowSelection.limit, extremes: Int = ClassRowSelection.extremes) {
        let classCount = report.summary.classNames.count
        guard classCount > limit else {
            labels = Array(0..<classCount)
            note = nil
            return
        }
        guard let gains = report.perClassGain, gains.count == classCount else {
            labels = Array(0..<limit)
            note = "Showing the first \(limit) of \(classCount) classes; metrics.json holds all of them."
            return
        }
        // Highest gain first; undefined gains last; ties by label.
        let ranked = (0..<classCount).sorted { lhs, rhs in
            let left = gains[lhs], right = gains[rhs]
            if left.isNaN != right.isNaN { return right.isNaN }
            if left != right, !left.isNaN { return left > right }
            return lhs < rhs
        }
        let defined = ranked.filter { !gains[$0].isNaN }
        let best = Array(defined.prefix(extremes))
        let worst = defined.suffix(extremes).filter { !best.contains($0) }
        labels = best + worst
        note = "\(classCount) classes: showing the \(best.count) with the largest and the \(worst.count) with the smallest "
            + "UP-Adapter gain over zero-shot (best first); metrics.json holds all of them."
    }
}
