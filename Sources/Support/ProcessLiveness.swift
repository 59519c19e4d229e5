import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a process of this machine with `pid` is alive (`kill(pid, 0)`): a lock or a staging
/// folder whose writer is gone may be taken over.
public func processIsAlive(_ pid: Int32) -> Bool {
    guard pid > 0 else { return false }
    return kill(pid, 0) == 0 || errno == EPERM
}
