#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// glibc allocator settings for a process that allocates and frees buffers of a few hundred
/// kilobytes to a few megabytes per image (decoded pixels, resampling passes, batches).
///
/// With glibc's defaults, such buffers are returned to the kernel when freed (unmapped, or
/// trimmed from the heap top) and page-faulted and zeroed again for the next image: measured
/// with `bench preprocess` on 500×375 JPEGs, a quarter of the time went to the kernel, and
/// these settings took one thread from 120–145 to 185–210 images/s. Blocks up to 8 MiB come
/// from the heap and up to 32 MiB of freed memory at the top of each allocator arena is kept
/// for reuse instead of being returned (the price: a resident size that may stay that much
/// higher per arena after a peak). Larger blocks, such as model weights and batch activations,
/// are mapped and unmapped as before. Nothing changes when `GLIBC_TUNABLES` already sets malloc
/// tunables, or off glibc.
enum AllocatorSettings {
    /// Largest block served from the heap rather than its own mapping.
    static let mapThresholdBytes: Int32 = 8 << 20
    /// Freed heap top kept before memory goes back to the kernel.
    static let trimThresholdBytes: Int32 = 32 << 20

    /// `mallopt`'s parameter numbers (glibc's `<malloc.h>`, which Swift's Glibc module does
    /// not import).
    private static let trimThresholdParameter: Int32 = -1
    private static let mapThresholdParameter: Int32 = -3

    /// Applies the settings (once, before the command runs).
    static func apply() {
        #if canImport(Glibc)
        if let tunables = ProcessInfo.processInfo.environment["GLIBC_TUNABLES"], tunables.contains("glibc.malloc.") {
            return
        }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(mapThresholdParameter, mapThresholdBytes)
        _ = mallopt(trimThresholdParameter, trimThresholdBytes)
        #endif
    }
}
