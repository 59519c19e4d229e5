import Foundation

/// A point of an SVG drawing, in pixels from the top left.
struct SVGPoint {
    var x: Double
    var y: Double
}

/// A minimal SVG writer for the report's charts: rectangles, lines, polylines, circles and
/// text, with `<title>` tooltips (no script). All text and attribute values are escaped, so
/// class names may hold any character. The output is well-formed XML, inline in HTML or alone.
struct SVGCanvas {
    enum Anchor: String {
        case start, middle, end
    }

    let width: Double
    let height: Double
    /// Prefix of every `id` in this drawing, so that several drawings share one page.
    let identifier: String
    private var definitions: [String] = []
    private var elements: [String] = []

    init(width: Double, height: Double, identifier: String) {
        self.width = width
        self.height = height
        self.identifier = identifier
    }

    /// `url(#…)` of a pattern added with `addHatchPattern`.
    func reference(_ name: String) -> String { "url(#\(identifier)-\(name))" }

    /// Defines a pattern `name` of diagonal stripes of `stripe` over `background`.
    mutating func addHatchPattern(_ name: String, background: String, stripe: String) {
        definitions.append(
            "<pattern id=\"\(Self.escape(identifier))-\(Self.escape(name))\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" "
                + "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"\(Self.escape(background))\"/>"
                + "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"\(Self.escape(stripe))\" stroke-width=\"2.5\"/></pattern>")
    }

    mutating func rect(
        x: Double, y: Double, width: Double, height: Double, fill: String,
        stroke: String? = nil, opacity: Double? = nil, tooltip: String? = nil
    ) {
        var attributes: [(String, String)] = [
            ("x", Self.number(x)), ("y", Self.number(y)), ("width", Self.number(max(width, 0))), ("height", Self.number(max(height, 0))),
            ("fill", fill),
        ]
        if let stroke { attributes += [("stroke", stroke), ("stroke-width", "1")] }
        if let opacity { attributes.append(("fill-opacity", Self.number(opacity))) }
        append("rect", attributes, tooltip: tooltip)
    }

    mutating func line(from start: SVGPoint, to end: SVGPoint, stroke: String, width: Double = 1, dash: String? = nil) {
        var attributes: [(String, String)] = [
            ("x1", Self.number(start.x)), ("y1", Self.number(start.y)), ("x2", Self.number(end.x)), ("y2", Self.number(end.y)),
            ("stroke", stroke), ("stroke-width", Self.number(width)),
        ]
        if let dash { attributes.append(("stroke-dasharray", dash)) }
        append("line", attributes, tooltip: nil)
    }

    mutating func polyline(_ points: [SVGPoint], stroke: String, width: Double = 2) {
        guard points.count > 1 else { return }
        let list = points.map { "\(Self.number($0.x)),\(Self.number($0.y))" }.joined(separator: " ")
        append("polyline", [("points", list), ("fill", "none"), ("stroke", stroke), ("stroke-width", Self.number(width)),
                            ("stroke-linejoin", "round")], tooltip: nil)
    }

    mutating func circle(center: SVGPoint, radius: Double, fill: String, stroke: String? = nil, tooltip: String? = nil) {
        var attributes: [(String, String)] = [
            ("cx", Self.number(center.x)), ("cy", Self.number(center.y)), ("r", Self.number(radius)), ("fill", fill),
        ]
        if let stroke { attributes += [("stroke", stroke), ("stroke-width", "1")] }
        append("circle", attributes, tooltip: tooltip)
    }

    mutating func text(
        _ content: String, at point: SVGPoint, anchor: Anchor = .start, size: Double = 12,
        fill: String = "#222", bold: Bool = false, rotation: Double? = nil, tooltip: String? = nil
    ) {
        var attributes: [(String, String)] = [
            ("x", Self.number(point.x)), ("y", Self.number(point.y)), ("font-size", Self.number(size)),
            ("text-anchor", anchor.rawValue), ("fill", fill),
        ]
        if bold { attributes.append(("font-weight", "bold")) }
        if let rotation {
            attributes.append(("transform", "rotate(\(Self.number(rotation)) \(Self.number(point.x)) \(Self.number(point.y)))"))
        }
        let title = tooltip.map { "<title>\(Self.escape($0))</title>" } ?? ""
        elements.append("<text\(Self.attributeList(attributes))>\(title)\(Self.escape(content))</text>")
    }

    /// The `<svg>` element: `title` is its accessible name (first child `<title>`).
    func render(title: String) -> String {
        var lines = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" "
                + "viewBox=\"0 0 \(Self.number(width)) \(Self.number(height))\" role=\"img\" "
                + "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">",
            "<title>\(Self.escape(title))</title>",
        ]
        if !definitions.isEmpty { lines.append("<defs>" + definitions.joined() + "</defs>") }
        lines.append("<rect x=\"0\" y=\"0\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" fill=\"#ffffff\"/>")
        lines += elements
        lines.append("</svg>")
        return lines.joined(separator: "\n")
    }

    /// Approximate width in pixels of `text` at `size` (the charts size their margins by it).
    static func textWidth(_ text: String, size: Double = 12) -> Double {
        Double(text.count) * size * 0.6
    }

    // MARK: Helpers

    private mutating func append(_ name: String, _ attributes: [(String, String)], tooltip: String?) {
        if let tooltip {
            elements.append("<\(name)\(Self.attributeList(attributes))><title>\(Self.escape(tooltip))</title></\(name)>")
        } else {
            elements.append("<\(name)\(Self.attributeList(attributes))/>")
        }
    }

    private static func attributeList(_ attributes: [(String, String)]) -> String {
        attributes.map { " \($0.0)=\"\(escape($0.1))\"" }.joined()
    }

    private static func escape(_ text: String) -> String { TextEscaping.html(text) }

    /// A coordinate with at most two decimals ("12.5", "3"); non-finite values become 0.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(format: "%.2f", rounded).replacingOccurrences(of: #"0+$"#, with: "", options: .regularExpression)
    }
}

/// Maps a value range onto a pixel range linearly.
struct LinearScale {
    var domain: ClosedRange<Double>
    var range: (Double, Double)

    func callAsFunction(_ value: Double) -> Double {
        let span = domain.upperBound - domain.lowerBound
        let t = span > 0 ? (value - domain.lowerBound) / span : 0
        return range.0 + t * (range.1 - range.0)
    }
}

/// Round tick values for chart axes.
enum AxisTicks {
    /// About `count` ticks at multiples of 1, 2 or 5 × 10ⁿ that cover `lower…upper`; the first
    /// and last ticks are the axis ends.
    static func nice(lower: Double, upper: Double, count: Int = 5) -> [Double] {
        guard lower.isFinite, upper.isFinite else { return [0, 1] }
        var low = min(lower, upper), high = max(lower, upper)
        if high - low < 1e-12 {
            let pad = max(abs(low) * 0.1, 1e-3)
            low -= pad
            high += pad
        }
        let raw = (high - low) / Double(max(count, 1))
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let residual = raw / magnitude
        let step = (residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1) * magnitude
        let first = (low / step).rounded(.down), last = (high / step).rounded(.up)
        guard last - first < 1000 else { return [low, high] }
        return stride(from: first, through: last, by: 1).map { ($0 * step * 1e9).rounded() / 1e9 }
    }
}
