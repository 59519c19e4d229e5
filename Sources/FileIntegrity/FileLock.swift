import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock on a file (`flock`), held from `init` until `release()` or the
/// end of the process: the kernel drops it when a holder dies, even by `kill -9`, so a lock is
/// never stale. Processes working on the same files (extracting one feature-cache entry,
/// downloading into one folder) take it in turn: the second waits, then finds the first one's
/// work done.
public final class FileLock {
    /// Why a lock could not be taken.
    public struct Failure: Error, CustomStringConvertible {
        public let path: String
        /// `open lock file` or `lock`.
        public let operation: String
        public let reason: String

        public var description: String { "cannot \(operation) \(path): \(reason)" }
    }

    /// The lock file.
    public let url: URL
    private var descriptor: Int32

    /// Creates `url` if needed and waits until the lock is ours.
    /// - Parameters:
    ///   - readOnlyFallback: in a folder this process may not write (a read-only, shared
    ///     cache), lock an existing lock file read-only, and without one lock nothing: such a
    ///     process can only read, and files are only ever replaced by an atomic rename.
    ///   - waiting: called once, before blocking, when another process holds the lock.
    /// - Throws: `Failure` when the file cannot be opened or locked.
    public init(url: URL, readOnlyFallback: Bool = false, waiting: (() -> Void)? = nil) throws {
        self.url = url
        descriptor = open(url.path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        if descriptor < 0, readOnlyFallback, errno == EACCES || errno == EROFS || errno == EPERM {
            descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
            if descriptor < 0 { return }
        }
        guard descriptor >= 0 else {
            throw Failure(path: url.path, operation: "open lock file", reason: String(cString: strerror(errno)))
        }
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return }
        if errno == EWOULDBLOCK { waiting?() }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let reason = String(cString: strerror(errno))
                release()
                throw Failure(path: url.path, operation: "lock", reason: reason)
            }
        }
    }

    /// Releases the lock (the file stays, for the next holder).
    public func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
