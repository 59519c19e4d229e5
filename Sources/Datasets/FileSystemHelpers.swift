import CLIPEncoder
import FileIntegrity
import Foundation
import Support

/// File extensions (lowercased) that count as images when a reader lists a folder.
let imageFileExtensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]

/// Small file-system queries shared by the dataset readers.
public enum FileSystem {
    /// Whether `url` exists and is a directory.
    public static func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Whether `url` exists and is a regular file (or a link to one).
    public static func isFile(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// The names of the entries of `directory`, hidden ones (starting with `.`) left out,
    /// sorted by code point.
    /// - Throws: `ExperimentsError.unreadable` when the folder cannot be listed.
    public static func visibleEntries(of directory: URL) throws -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw ExperimentsError.unreadable(path: directory.path, reason: ReadableError.reason(error))
        }
        return names.filter { !$0.hasPrefix(".") }.sorted(by: codePointLess)
    }

    /// The visible sub-folders of `directory`, sorted.
    public static func subdirectories(of directory: URL) throws -> [String] {
        try visibleEntries(of: directory).filter { isDirectory(directory.appendingPathComponent($0)) }
    }

    /// The visible image files (by extension) of `directory`, sorted.
    public static func imageFiles(in directory: URL) throws -> [String] {
        try visibleEntries(of: directory).filter { name in
            let fileExtension = (name as NSString).pathExtension.lowercased()
            return imageFileExtensions.contains(fileExtension) && !isDirectory(directory.appendingPathComponent(name))
        }
    }

    /// The contents of a text file.
    /// - Throws: `splitFileMissing` when absent, `unreadable` when not UTF-8.
    public static func text(of url: URL, dataset: String) throws -> String {
        guard isFile(url) else { throw ExperimentsError.splitFileMissing(dataset: dataset, path: url.path) }
        try RegularFile.require(url)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ExperimentsError.unreadable(path: url.path, reason: ReadableError.reason(error))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ExperimentsError.unreadable(path: url.path, reason: "not UTF-8 text")
        }
        return text
    }

    /// The non-empty lines of a text file, trimmed, with their 1-based line numbers.
    public static func lines(of url: URL, dataset: String) throws -> [(number: Int, text: String)] {
        let text = try text(of: url, dataset: dataset)
        var result: [(number: Int, text: String)] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { result.append((index + 1, trimmed)) }
        }
        return result
    }

    /// Throws `datasetFolderMissing` unless `url` is a directory.
    public static func requireDirectory(_ url: URL, dataset: String) throws {
        guard isDirectory(url) else { throw ExperimentsError.datasetFolderMissing(dataset: dataset, path: url.path) }
    }
}

/// Orders strings by Unicode code points (as Python's `sorted` does), independent of locale
/// and of Unicode canonical equivalence.
func codePointLess(_ lhs: String, _ rhs: String) -> Bool {
    lhs.unicodeScalars.lexicographicallyPrecedes(rhs.unicodeScalars)
}
