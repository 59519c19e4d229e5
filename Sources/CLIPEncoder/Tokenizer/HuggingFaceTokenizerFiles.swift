import Foundation

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
            throw TokenizerError.unwritableFile(path: directory.path, reason: error.localizedDescription)
        }
        var json = "{"
        for (index, entry) in vocabularyByID.enumerated() {
            if index > 0 { json += ", " }
            json += Self.jsonString(entry.token) + ": " + String(entry.id)
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
                throw TokenizerError.unwritableFile(path: url.path, reason: error.localizedDescription)
            }
        }
    }

    /// A JSON string literal for `text`, escaping only what JSON requires.
    static func jsonString(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        return output + "\""
    }
}
