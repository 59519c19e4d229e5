import Compute

/// The zero-shot text classifier `W` `[classes, dim]`: for each class, its prompt-template
/// embeddings are L2-normalised, averaged over templates, and the average L2-normalised again.
public struct TextClassifier: Sendable, Equatable {
    /// The unit-norm class rows, `[classes, dim]`.
    public let weights: HostMatrix

    /// Number of classes.
    public var classCount: Int { weights.rows }
    /// Width of the embedding space.
    public var dimension: Int { weights.columns }

    /// Uses `weights` `[classes, dim]` as given (already normalised rows, e.g. read from a cache).
    public init(weights: HostMatrix) {
        self.weights = weights
    }

    /// Builds the classifier from every class's template embeddings.
    ///
    /// - Parameter templateEmbeddings: `[classes, templates, dim]`, row-major.
    /// - Throws: `SelectorError.shapeMismatch` when the count is not `classes · templates · dim`,
    ///   `SelectorError.degenerateClass` when a class averages to zero.
    public init(templateEmbeddings: [Float], classCount: Int, templateCount: Int, dimension: Int) throws {
        guard classCount > 0, templateCount > 0, dimension > 0 else {
            throw SelectorError.invalidArgument(
                name: "TextClassifier", message: "classes \(classCount), templates \(templateCount), dim \(dimension) must all be positive")
        }
        guard templateEmbeddings.count == classCount * templateCount * dimension else {
            throw SelectorError.shapeMismatch(
                input: "templateEmbeddings", expected: "[\(classCount), \(templateCount), \(dimension)]",
                actual: "\(templateEmbeddings.count) elements")
        }
        let block = templateCount * dimension
        try self.init(classCount: classCount, dimension: dimension) { classIndex in
            Array(templateEmbeddings[(classIndex * block)..<((classIndex + 1) * block)])
        }
    }

    /// Builds the classifier one class at a time, so that a text encoder can produce the
    /// embeddings lazily.
    ///
    /// - Parameter embed: returns class `c`'s template embeddings, `[templates, dim]` (any number
    ///   of templates ≥ 1, which may differ between classes).
    /// - Throws: `SelectorError` for a wrong size or a degenerate class, or what `embed` throws.
    public init(classCount: Int, dimension: Int, embed: (Int) throws -> [Float]) throws {
        guard classCount > 0, dimension > 0 else {
            throw SelectorError.invalidArgument(name: "TextClassifier", message: "classes \(classCount) and dim \(dimension) must be positive")
        }
        var rows = [Float]()
        rows.reserveCapacity(classCount * dimension)
        for classIndex in 0..<classCount {
            let embeddings = try embed(classIndex)
            guard !embeddings.isEmpty, embeddings.count % dimension == 0 else {
                throw SelectorError.shapeMismatch(
                    input: "template embeddings of class \(classIndex)", expected: "[templates ≥ 1, \(dimension)]",
                    actual: "\(embeddings.count) elements")
            }
            var mean = [Double](repeating: 0, count: dimension)
            for template in 0..<(embeddings.count / dimension) {
                let row = embeddings[(template * dimension)..<((template + 1) * dimension)]
                let norm = row.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                guard norm > 0 else { continue }  // a zero embedding has no direction; it adds nothing
                for (column, value) in row.enumerated() { mean[column] += Double(value) / norm }
            }
            let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0, norm.isFinite else { throw SelectorError.degenerateClass(index: classIndex) }
            rows.append(contentsOf: mean.map { Float($0 / norm) })
        }
        weights = try HostMatrix(values: rows, rows: classCount, columns: dimension)
    }
}
