import Foundation
import PrototypeTrainer

/// Writing a finished run to `runs/<name>/<timestamp>/`.
extension Pipeline {
    /// Writes `runs/<name>/<timestamp>/` atomically: everything goes to a hidden folder that is
    /// renamed into place once complete.
    func writeRun(report: RunReport, classifier: AdaptedClassifier, classNames: [String], started: Date) throws -> URL {
        let manager = FileManager.default
        let parent = configuration.runsDirectory.appendingPathComponent(name)
        let stamp = Self.folderTimestamp(started)
        var directory = parent.appendingPathComponent(stamp)
        var suffix = 1
        while manager.fileExists(atPath: directory.path) {
            suffix += 1
            directory = parent.appendingPathComponent("\(stamp)-\(suffix)")
        }
        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).partial")
        try? manager.removeItem(at: staging)
        try manager.createDirectory(at: staging, withIntermediateDirectories: true)
        try configuration.resolvedYAML().write(to: staging.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        let record: [String: String] = [
            "version": upadapterVersion, "seed": String(configuration.training.seed), "device": backend.name,
            "device_description": backend.deviceDescription, "started": report.summary.timestamp,
            "command": CommandLine.arguments.joined(separator: " "),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(record).write(to: staging.appendingPathComponent("run.json"))
        try RunReportWriter.write(report, to: staging)
        try AdapterFile.write(classifier: classifier, classNames: classNames, templates: configuration.prompts.templates,
                              modelDigest: report.summary.modelDigest, to: staging.appendingPathComponent("adapter.safetensors"))
        try manager.moveItem(at: staging, to: directory)
        return directory
    }

    static func folderTimestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: date)
    }
}
