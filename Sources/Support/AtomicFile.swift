import Foundation

/// Why an atomic write failed; each case names the target file.
public enum AtomicFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The temporary file beside `path` could not be written (`reason` says why).
    case writeFailed(path: String, reason: String)
    /// The temporary file `temporaryName`, written completely, could not be renamed over `path`
    /// (`reason` is the system's message).
    case renameFailed(path: String, temporaryName: String, reason: String)

    /// The file that was to be written.
    public var path: String {
        switch self {
        case .writeFailed(let path, _), .renameFailed(let path, _, _): return path
        }
    }

    /// What went wrong, without the path: for wrapping into a module's own error.
    public var reason: String {
        switch self {
        case .writeFailed(_, let reason): return reason
        case .renameFailed(_, let temporaryName, let reason): return "cannot move \(temporaryName) into place: \(reason)"
        }
    }

    public var description: String { "\(path): cannot write: \(reason)" }
}

/// Writes a file so that readers see the old contents or the new, never a partial file: the
/// bytes go to a hidden temporary file in the same folder, which is then renamed over the target
/// (rename(2) replaces it atomically).
public enum AtomicFile {
    /// Writes `data` to `url` atomically. The folder must exist.
    /// - Throws: ``AtomicFileError`` naming `url`; the temporary file is removed.
    public static func write(_ data: Data, to url: URL) throws(AtomicFileError) {
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try data.write(to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw .writeFailed(path: url.path, reason: ReadableError.reason(error))
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw .renameFailed(path: url.path, temporaryName: temporary.lastPathComponent, reason: reason)
        }
    }

    /// Writes `text` as UTF-8 to `url` atomically.
    /// - Throws: ``AtomicFileError`` naming `url`.
    public static func write(_ text: String, to url: URL) throws(AtomicFileError) {
        try write(Data(text.utf8), to: url)
    }
}
