import Foundation

/// A fresh folder under the system's temporary directory, removed when the value is released.
public final class TemporaryFolder {
    /// The folder.
    public let url: URL

    /// Creates `upadapter-<name>-<UUID>` under the temporary directory.
    /// - Throws: the file-system error when the folder cannot be created.
    public init(_ name: String = "tests") throws {
        url = try Self.create(name)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    /// Creates `upadapter-<name>-<UUID>` under the temporary directory and returns it; the caller
    /// owns it (nothing removes it).
    /// - Throws: the file-system error when the folder cannot be created.
    public static func create(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("upadapter-\(name)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes `text` at `relative`, creating folders.
    /// - Returns: the file written.
    @discardableResult
    public func write(_ relative: String, _ text: String) throws -> URL {
        let destination = try prepare(relative)
        try text.write(to: destination, atomically: true, encoding: .utf8)
        return destination
    }

    /// Writes bytes at `relative`, creating folders.
    /// - Returns: the file written.
    @discardableResult
    public func write(_ relative: String, bytes: [UInt8]) throws -> URL {
        let destination = try prepare(relative)
        try Data(bytes).write(to: destination)
        return destination
    }

    /// Copies `source` to `relative` in this folder, creating folders.
    public func copy(_ source: URL, to relative: String) throws {
        try FileManager.default.copyItem(at: source, to: try prepare(relative))
    }

    /// Removes `relative` from this folder.
    public func remove(_ relative: String) throws {
        try FileManager.default.removeItem(at: url.appendingPathComponent(relative))
    }

    /// The standardised path of `relative` in this folder.
    public func path(_ relative: String) -> String {
        url.appendingPathComponent(relative).standardizedFileURL.path
    }

    /// The URL of `relative`, its parent folders created.
    private func prepare(_ relative: String) throws -> URL {
        let destination = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        return destination
    }
}
