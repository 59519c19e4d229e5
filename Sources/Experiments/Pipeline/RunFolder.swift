import CLIPEncoder
import FeatureCache
import Foundation
import PrototypeTrainer
import Reports
import Support
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing a finished run to `runs/<name>/<timestamp>/`.
extension Pipeline {
    /// Writes `runs/<name>/<timestamp>/` atomically: everything goes to a staging folder private
    /// to this process, which is renamed into place once complete under a name no other run
    /// holds (`<timestamp>`, else `<timestamp>-2`, `-3`, …, reserved by an exclusive `mkdir`).
    /// Runs started in the same second, on one machine or several sharing the folder, never
    /// share a staging folder nor overwrite each other's results.
    /// The pipeline name the report's preprocessing note gives (`preprocessingNote`), the one
    /// the checkpoint format picked when the configuration says `auto`.
    static func pipelineUsed(notes: [String]) -> String? {
        let prefix = "preprocessing: pipeline "
        guard let note = notes.first(where: { $0.hasPrefix(prefix) }) else { return nil }
        return note.dropFirst(prefix.count).split(separator: ",").first.map(String.init)
    }

    func writeRun(report: RunReport, classifier: AdaptedClassifier?, classNames: [String], started: Date) throws -> URL {
        let manager = FileManager.default
        let parent = configuration.runsDirectory.appendingPathComponent(name)
        do {
            try manager.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw ReportError.cannotCreateDirectory(path: parent.path, reason: ReadableError.reason(error))
        }
        RunFolder.removeStaleStaging(in: parent)
        let staging = parent.appendingPathComponent(RunFolder.stagingName())
        do {
            try manager.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw ReportError.cannotCreateDirectory(path: staging.path, reason: ReadableError.reason(error))
        }
        do {
            try configuration.resolvedYAML().write(to: staging.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
            let record: [String: String] = [
                "version": upadapterVersion, "seed": String(configuration.training.seed), "device": backend.name,
                "device_description": backend.deviceDescription, "started": report.summary.timestamp,
                "command": CommandLine.arguments.joined(separator: " "),
                "preprocessing": configuration.extraction.preprocessing?.rawValue ?? "auto",
                "preprocessing_used": Self.pipelineUsed(notes: report.summary.notes) ?? "unknown",
                "crop_rounding": configuration.extraction.cropRounding?.rawValue ?? "pipeline",
                "jpeg_decoding": configuration.extraction.jpegDecoding.rawValue,
            ]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(record).write(to: staging.appendingPathComponent("run.json"))
            try RunReportWriter.write(report, to: staging)
            if let classifier {
                try AdapterFile.write(classifier: classifier, classNames: classNames, templates: configuration.prompts.templates,
                                      modelDigest: report.summary.modelDigest, to: staging.appendingPathComponent("adapter.safetensors"))
            }
            return try RunFolder.publish(staging, in: parent, stamp: Self.folderTimestamp(started))
        } catch {
            try? manager.removeItem(at: staging)
            if error is ReportError || error is CLIPEncoderError { throw error }
            throw ReportError.writeFailed(file: staging.path, reason: ReadableError.reason(error))
        }
    }

    /// Removes the staging folders that runs of configuration `name` left in `runsDirectory`
    /// when killed (see `RunFolder.removeStaleStaging`); called when a run starts.
    public static func removeStaleStaging(runsDirectory: URL, name: String) {
        RunFolder.removeStaleStaging(in: runsDirectory.appendingPathComponent(name))
    }

    static func folderTimestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: date)
    }
}

/// Naming, publishing and cleaning of run folders and their staging folders.
enum RunFolder {
    /// Staging folders are `.run-<pid>-<random>@<host>.partial`: private to one process, and
    /// telling which process of which machine owns them.
    static func stagingName(pid: Int32 = getpid(), host: String = hostName) -> String {
        ".run-\(pid)-\(UInt32.random(in: 0...UInt32.max))@\(host).partial"
    }

    /// This machine's name (`gethostname`), `localhost` when unknown.
    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .replacingOccurrences(of: "/", with: "_")
        return name.isEmpty ? "localhost" : name
    }

    /// Renames the complete `staging` folder to `stamp` (or `stamp-2`, `stamp-3`, … when taken)
    /// in `parent` and returns the final folder. Each name is first reserved with `mkdir`, which
    /// fails for every process but one; the rename then replaces that empty folder atomically.
    /// - Throws: `ReportError.writeFailed` when no name can be reserved or the rename fails.
    static func publish(_ staging: URL, in parent: URL, stamp: String) throws -> URL {
        for suffix in 1...10_000 {
            let candidate = parent.appendingPathComponent(suffix == 1 ? stamp : "\(stamp)-\(suffix)")
            if mkdir(candidate.path, 0o755) != 0 {
                if errno == EEXIST { continue }
                throw ReportError.writeFailed(file: candidate.path, reason: String(cString: strerror(errno)))
            }
            guard rename(staging.path, candidate.path) == 0 else {
                let reason = String(cString: strerror(errno))
                rmdir(candidate.path)
                throw ReportError.writeFailed(file: candidate.path, reason: "cannot rename \(staging.lastPathComponent) into place: \(reason)")
            }
            return candidate
        }
        throw ReportError.writeFailed(file: parent.appendingPathComponent(stamp).path, reason: "10000 runs already use this timestamp")
    }

    /// Removes staging folders that no live run owns: those of this machine whose process has
    /// ended, and any older than a day (another machine's, or of an older naming).
    static func removeStaleStaging(in parent: URL, host: String = hostName, now: Date = Date()) {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: parent.path) else { return }
        for name in names where name.hasPrefix(".") && name.hasSuffix(".partial") {
            let url = parent.appendingPathComponent(name)
            let modified = (try? manager.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date ?? now
            if now.timeIntervalSince(modified) > 86_400 {
                try? manager.removeItem(at: url)
            } else if let owner = owner(ofStaging: name), owner.host == host, !processIsAlive(owner.pid) {
                try? manager.removeItem(at: url)
            }
        }
    }

    /// The process and machine named by a staging folder's name, `nil` for other names.
    static func owner(ofStaging name: String) -> (pid: Int32, host: String)? {
        guard name.hasPrefix(".run-"), name.hasSuffix(".partial"), let at = name.firstIndex(of: "@") else { return nil }
        let identity = name[name.index(name.startIndex, offsetBy: 5)..<at]
        let host = name[name.index(after: at)..<name.index(name.endIndex, offsetBy: -8)]
        guard let pidText = identity.split(separator: "-").first, let pid = Int32(pidText) else { return nil }
        return (pid, String(host))
    }
}
