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
    /// Free remarks printed at the end of the report.
    public var notes: [String]

    public init(
        configurationName: String, configurationPath: String, timestamp: String, seed: Int,
        deviceName: String, deviceDescription: String, toolVersion: String,
        modelDirectory: String, modelDigest: String, datasetName: String,
        unlabeledSplit: String, unlabeledCount: Int, testSplit: String, testCount: Int,
        classNames: [String], phaseSeconds: [String: Double] = [:],
        notes: [String] = []
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
        self.notes = notes
    }

    /// `date` as an ISO 8601 time stamp in UTC, such as `2026-03-01T12:34:56Z`.
    public static func timestamp(for date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// Sum of the phase times, in seconds.
    public var totalSeconds: Double { phaseSeconds.values.reduce(0, +) }
}
