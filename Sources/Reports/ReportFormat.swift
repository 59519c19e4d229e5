import Foundation

/// Number formats shared by the text, Markdown and HTML reports (locale-independent).
public enum ReportFormat {
    /// Shown where a value does not apply or is undefined.
    public static let missing = "—"

    /// A fraction as a percentage with two decimals: 0.63451 → "63.45%".
    public static func percent(_ fraction: Double) -> String {
        fraction.isFinite ? String(format: "%.2f%%", fraction * 100) : missing
    }

    /// A difference of fractions in percentage points with a sign: 0.0278 → "+2.78", -0.012 →
    /// "-1.20" (a difference that rounds to zero is "+0.00").
    public static func points(_ difference: Double) -> String {
        guard difference.isFinite else { return missing }
        let value = difference * 100
        return abs(value) < 0.005 ? "+0.00" : String(format: "%+.2f", value)
    }

    /// `points` or `missing` for nil.
    public static func points(_ difference: Double?) -> String {
        difference.map { points($0) } ?? missing
    }

    /// A parameter value with up to six significant digits: 1.1699999570846558 → "1.17".
    public static func number(_ value: Double) -> String {
        value.isFinite ? String(format: "%g", value) : "\(value)"
    }

    /// A duration in seconds with one decimal.
    public static func seconds(_ value: Double) -> String {
        value.isFinite ? String(format: "%.1f", value) : missing
    }

    /// A loss value with four decimals.
    public static func loss(_ value: Double) -> String {
        value.isFinite ? String(format: "%.4f", value) : "\(value)"
    }

    /// An optional parameter, or `missing`.
    public static func parameter(_ value: Double?) -> String {
        value.map(number) ?? missing
    }
}

extension Array {
    /// The element at `index`, or nil outside the array (the renderers never trap on a report
    /// that skipped `RunReport.validate()`).
    subscript(reportIndex index: Int) -> Element? {
        indices.contains(index) ? self[index] : nil
    }
}
