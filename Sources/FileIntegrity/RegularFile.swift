import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one check every reader of the tool makes before it opens a file: `stat` (which follows
/// symbolic links) must find a regular file. A FIFO would block `open` or `read` for ever, and a
/// device (`/dev/zero`, `/dev/urandom`) never ends; both, and folders and sockets, are refused
/// with their kind named, before any byte is read.
public enum RegularFile {
    /// A path that exists but is not a regular file (nor a symbolic link to one).
    public struct Refusal: Error, CustomStringConvertible, Equatable, Sendable {
        /// The path as given.
        public let path: String
        /// What it is instead: `FIFO`, `character device`, `block device`, `socket`, `folder`.
        public let kind: String

        public init(path: String, kind: String) {
            self.path = path
            self.kind = kind
        }

        public var description: String { "\(path): not a regular file (\(kind))" }
    }

    /// Throws `Refusal` when `url` exists and is anything but a regular file (after following
    /// symbolic links). A path that does not exist (or cannot be examined) passes: the open
    /// that follows reports it in the reader's own words.
    /// - Throws: `RegularFile.Refusal` naming the path and its kind.
    public static func require(_ url: URL) throws {
        try require(path: url.path)
    }

    /// As `require(_:)`, for a path.
    /// - Throws: `RegularFile.Refusal` naming the path and its kind.
    public static func require(path: String) throws {
        if let kind = kind(ofPath: path) { throw Refusal(path: path, kind: kind) }
    }

    /// The kind of what `path` names when it exists and is not a regular file, else nil.
    public static func kind(ofPath path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFIFO: return "FIFO"
        case S_IFCHR: return "character device"
        case S_IFBLK: return "block device"
        case S_IFSOCK: return "socket"
        case S_IFDIR: return "folder"
        default: return "special file"
        }
    }
}
