import CLIPEncoder
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock on a file (`flock`), held from `init` until `release()` or the
/// end of the process: the kernel drops it when a holder dies, even by `kill -9`, so a lock is
/// never stale. Processes extracting the same cache entry take it in turn: the second waits,
/// then finds the first one's features.
final class FileLock {
    /// The lock file.
    let url: URL
    private var descriptor: Int32

    /// Creates `url` if needed and waits until the lock is ours. In a folder this process may
    /// not write (a read-only, shared cache) an existing lock file is locked read-only, and
    /// without one nothing is locked: such a process can only read, and files are only ever
    /// replaced by an atomic rename.
    /// - Parameter waiting: called once, before blocking, when another process holds the lock.
    /// - Throws: `FeatureCacheError.fileOperationFailed` when the file cannot be opened or locked.
    init(url: URL, waiting: (() -> Void)? = nil) throws {
        self.url = url
        descriptor = open(url.path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        if descriptor < 0, errno == EACCES || errno == EROFS || errno == EPERM {
            descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
            if descriptor < 0 { return }
        }
        guard descriptor >= 0 else {
            throw FeatureCacheError.fileOperationFailed(path: url.path, operation: "open lock file", reason: String(cString: strerror(errno)))
        }
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return }
        if errno == EWOULDBLOCK { waiting?() }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                descriptor = -1
                throw FeatureCacheError.fileOperationFailed(path: url.path, operation: "lock", reason: reason)
            }
        }
    }

    /// Releases the lock (the file stays, for the next holder).
    func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}

/// Whether a process of this machine with `pid` is alive (`kill(pid, 0)`).
func processIsAlive(_ pid: Int32) -> Bool {
    guard pid > 0 else { return false }
    return kill(pid, 0) == 0 || errno == EPERM
}
