import Foundation

/// The reproducibility facts of one run: what was run, on what, with which model and data, and
/// how long each phase took. The header of every report.
public struct RunSummary: Codable, Sendable, Equatable {
    /// Name of the experiment configuration (its file name without extension, as a rule).
    public var configurationName: String
    /// Absolute path of the configuration file the run loaded.
    public var configurationPath: String
    /// When the run started, ISO 8601 (`RunSummary.timestamp(for:)`).
    public var timestamp: String
    /// Seed of everything random in the run.
    public var seed: Int
    /// Short name of the compute device (`cpu`, `opencl:0`).
    public var deviceName: String
    /// Longer description of the device (vendor, model, driver).
    public var deviceDescription: String
    /// Version of the `upadapter` tool that ran.
    public var toolVersion: String
    /// Folder of the CLIP model.
    public var modelDirectory: String
    /// Digest of the model's weights (for example `sha256:…`).
    public var modelDigest: String
    /// Name of the dataset.
    public var datasetName: String
    /// Split adapted on without labels.
    public var unlabeledSplit: String
    /// Number of images of the unlabeled split.
    public var unlabeledCount: Int
    /// Labeled split the accuracies are measured on.
    public var testSplit: String
    /// Number of images of the test split.
    public var testCount: Int
    /// Class names by label.
    public var classNames: [String]
    /// Wall-clock seconds spent in each phase, by phase name (`features`, `training`, …).
    public var phaseSeconds: [String: Double]
    /// The label-free choice of α and β, when the run searched for them.
    public var labelFreeSearch: LabelFreeSearchRecord?
    /// Free remarks printed at the end of the report.
    public var notes: [String]

    public init(
        configurationName: String, configurationPath: String, timestamp: String, seed: Int,
        deviceName: String, deviceDescription: String, toolVersion: String,
        modelDirectory: String, modelDigest: String, datasetName: String,
        unlabeledSplit: String, unlabeledCount: Int, testSplit: String, testCount: Int,
        classNames: [String], phaseSeconds: [String: Double] = [:],
        labelFreeSearch: LabelFreeSearchRecord? = nil, notes: [String] = []
    ) {
        self.configurationName = configurationName
        self.configurationPath = configurationPath
        self.timestamp = timestamp
        self.seed = seed
        self.deviceName = deviceName
        self.deviceDescription = deviceDescription
        self.toolVersion = toolVersion
        self.modelDirectory = modelDirectory
        self.modelDigest = modelDigest
        self.datasetName = datasetName
        self.unlabeledSplit = unlabeledSplit
        self.unlabeledCount = unlabeledCount
        self.testSplit = testSplit
        self.testCount = testCount
        self.classNames = classNames
        self.phaseSeconds = phaseSeconds
        self.labelFreeSearch = labelFreeSearch
        self.notes = notes
    }

    /// `date` as an ISO 8601 time stamp in UTC, such as `2026-03-01T12:34:56Z`.
    public static func timestamp(for date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// Sum of the phase times, in seconds.
    public var totalSeconds: Double { phaseSeconds.values.reduce(0, +) }
}

/// The label-free search of the fusion weight α and the sharpness β: every grid point scored by
/// the accuracy against their pseudo-labels of selected images held out from building the
/// prototypes. Test labels take no part; `usedTestLabels` states it and the report prints it.
public struct LabelFreeSearchRecord: Codable, Sendable, Equatable {
    /// One grid point and its held-out score.
    public struct Candidate: Codable, Sendable, Equatable {
        public var alpha: Double
        public var beta: Double
        /// Fraction (0…1) of held-out images predicted as their pseudo-label.
        public var holdoutAccuracy: Double
        /// Mean cross-entropy against the held-out pseudo-labels, when the search computed it.
        public var holdoutCrossEntropy: Double?

        public init(alpha: Double, beta: Double, holdoutAccuracy: Double, holdoutCrossEntropy: Double? = nil) {
            self.alpha = alpha
            self.beta = beta
            self.holdoutAccuracy = holdoutAccuracy
            self.holdoutCrossEntropy = holdoutCrossEntropy
        }
    }

    /// Every grid point tried, in the order tried.
    public var candidates: [Candidate]
    /// The α the run went on with.
    public var chosenAlpha: Double
    /// The β the run went on with.
    public var chosenBeta: Double
    /// Number of pseudo-labeled images held out for scoring.
    public var holdoutSize: Int
    /// How the best grid point was chosen, in words (printed under the table).
    public var criterion: String
    /// Whether any test label was used to choose α and β. Must be false for a label-free run;
    /// the report prints it either way.
    public var usedTestLabels: Bool

    public init(
        candidates: [Candidate], chosenAlpha: Double, chosenBeta: Double, holdoutSize: Int,
        criterion: String = "highest held-out pseudo-label accuracy", usedTestLabels: Bool
    ) {
        self.candidates = candidates
        self.chosenAlpha = chosenAlpha
        self.chosenBeta = chosenBeta
        self.holdoutSize = holdoutSize
        self.criterion = criterion
        self.usedTestLabels = usedTestLabels
    }

    /// The distinct α values of the grid, ascending.
    public var alphaValues: [Double] { Self.distinctSorted(candidates.map(\.alpha)) }

    /// The distinct β values of the grid, ascending.
    public var betaValues: [Double] { Self.distinctSorted(candidates.map(\.beta)) }

    /// The grid point at (`alpha`, `beta`), if it was tried (the last one when tried twice).
    public func candidate(alpha: Double, beta: Double) -> Candidate? {
        candidates.last { Self.same($0.alpha, alpha) && Self.same($0.beta, beta) }
    }

    /// Whether (`alpha`, `beta`) is the chosen point.
    public func isChosen(alpha: Double, beta: Double) -> Bool {
        Self.same(alpha, chosenAlpha) && Self.same(beta, chosenBeta)
    }

    /// Equal up to single-precision rounding (grids are often held as `Float`).
    static func same(_ lhs: Double, _ rhs: Double) -> Bool {
        abs(lhs - rhs) <= 1e-6 * max(1, abs(lhs), abs(rhs))
    }

    private static func distinctSorted(_ values: [Double]) -> [Double] {
        var result: [Double] = []
        for value in values.sorted() where !(result.last.map { same($0, value) } ?? false) {
            result.append(value)
        }
        return result
    }
}
