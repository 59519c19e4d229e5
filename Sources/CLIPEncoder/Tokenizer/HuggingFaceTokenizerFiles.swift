import Foundation
import Support

extension CLIPTokenizer {
    /// Writes this tokenizer as Hugging Face `vocab.json` and `merges.txt` into `directory`.
    ///
    /// `vocab.json` lists token → id in id order (UTF-8, not ASCII-escaped); `merges.txt` has a
    /// `#version: 0.2` header and one `first second` merge per line in rank order. Loading the
    /// files back with ``init(vocabularyFile:mergesFile:)`` gives the same ids. The directory is
    /// created if needed; existing files are replaced.
    /// - Throws: ``TokenizerError/unwritableFile(path:reason:)``.
    public func writeHuggingFaceFiles(to directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw TokenizerError.unwritableFile(path: directory.path, reason: ReadableError.reason(error))
        }
        var json = "{"
        for (index, entry) in vocabularyByID.enumerated() {
            if index > 0 { json += ", " }
            json += SafeTensorsWriter.jsonString(entry.token) + ": " + String(entry.id)
        }
        json += "}"
        var merges = "#version: 0.2\n"
        for (first, second) in mergePairs {
            merges += first + " " + second + "\n"
        }
        for (name, contents) in [("vocab.json", json), ("merges.txt", merges)] {
            let url = directory.appendingPathComponent(name)
            do {
                try Data(contents.utf8).write(to: url, options: .atomic)
            } catch {
                throw TokenizerError.unwritableFile(path: url.path, reason: ReadableError.reason(error))
            }
        }
    }
}
