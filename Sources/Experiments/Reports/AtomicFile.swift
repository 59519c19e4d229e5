import CLIPEncoder
import Foundation

/// Writes a file so that readers see the old contents or the new, never a partial file: the
/// bytes go to a hidden temporary file in the same folder, which is then renamed over the target.
enum AtomicFile {
    /// Writes `data` to `url` atomically.
    /// - Throws: `ReportError.writeFailed` naming `url`.
    static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try data.write(to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw ReportError.writeFailed(file: url.path, reason: ReadableError.reason(error))
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw ReportError.writeFailed(file: url.path, reason: "cannot move \(temporary.lastPathComponent) into place: \(reason)")
        }
    }

    /// Writes `text` as UTF-8 to `url` atomically.
    static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }
}
