import FileIntegrity
import Foundation

extension FeatureCache {
    /// The exclusive lock of a cache entry (`FileIntegrity.FileLock`), taken read-only in a
    /// cache this process may not write; a failure is a `FeatureCacheError` naming the file.
    static func lock(_ url: URL, waiting: (() -> Void)? = nil) throws -> FileLock {
        do {
            return try FileLock(url: url, readOnlyFallback: true, waiting: waiting)
        } catch let failure as FileLock.Failure {
            throw FeatureCacheError.fileOperationFailed(path: failure.path, operation: failure.operation, reason: failure.reason)
        }
    }
}
