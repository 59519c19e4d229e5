import Foundation

/// Compiled OpenCL programs kept on disk (`CL_PROGRAM_BINARIES`), so that a process does not
/// compile every kernel file again: a GPU driver's compile of `matmul.cl` takes a second or more,
/// and the backend builds one program per file and set of defines.
///
/// A binary is keyed by the SHA-256 digest of everything that decides its content: the device's
/// name, its platform and driver version, the kernel source text and the build options (the
/// defines). A driver update, an edited kernel or another define therefore misses and builds from
/// source. A binary the driver refuses is removed and the program built from source.
///
/// The folder is `$UPADAPTER_PROGRAM_CACHE`, else `$XDG_CACHE_HOME/upadapter/programs`, else
/// `~/.cache/upadapter/programs`; `UPADAPTER_PROGRAM_CACHE=off` disables the cache.
public struct ProgramBinaryCache: Sendable, Equatable {
    /// The environment variable naming the cache folder, or `off`.
    public static let directoryVariable = "UPADAPTER_PROGRAM_CACHE"

    /// Where the binaries are, one `<digest>.bin` file each.
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// The cache named by the environment, or `nil` when it is switched off.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> ProgramBinaryCache? {
        if let path = environment[directoryVariable], !path.isEmpty {
            return path == "off" ? nil : ProgramBinaryCache(directory: URL(fileURLWithPath: path))
        }
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return ProgramBinaryCache(directory: cache.appendingPathComponent("upadapter").appendingPathComponent("programs"))
    }

    /// The key of one program: the hexadecimal SHA-256 digest of the device name, platform name,
    /// driver version, build options and source text (each field length-prefixed, so no two
    /// different tuples give the same bytes).
    public static func key(deviceName: String, platformName: String, driverVersion: String, options: String, source: String) -> String {
        var bytes: [UInt8] = []
        for field in [deviceName, platformName, driverVersion, options, source] {
            let utf8 = Array(field.utf8)
            withUnsafeBytes(of: UInt64(utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: utf8)
        }
        return SHA256.hexDigest(of: bytes)
    }

    /// The file of `key`.
    public func file(for key: String) -> URL {
        directory.appendingPathComponent(key + ".bin")
    }

    /// The stored binary of `key`, or `nil` when there is none (or it cannot be read).
    public func load(_ key: String) -> [UInt8]? {
        guard let data = try? Data(contentsOf: file(for: key)), !data.isEmpty else { return nil }
        return [UInt8](data)
    }

    /// Stores `binary` under `key`: written to a temporary file and renamed, so a concurrent
    /// reader sees the old file or the whole new one, never part of it.
    /// - Throws: `ComputeError.invalidArgument` naming the file when it cannot be written.
    public func store(_ binary: [UInt8], for key: String) throws {
        let target = file(for: key)
        let temporary = directory.appendingPathComponent(".\(key).\(ProcessInfo.processInfo.processIdentifier).\(UUID().uuidString).tmp")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(binary).write(to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw ComputeError.invalidArgument(operation: "program binary cache", message: "cannot write \(target.path): \(error.localizedDescription)")
        }
        guard rename(temporary.path, target.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw ComputeError.invalidArgument(operation: "program binary cache", message: "cannot write \(target.path): \(reason)")
        }
    }

    /// Removes the binary of `key` (one the driver refused).
    public func remove(_ key: String) {
        try? FileManager.default.removeItem(at: file(for: key))
    }
}

/// How an `OpenCLBackend` obtained its programs: built from source or loaded from the binary
/// cache, with the wall time of each (creation and `clBuildProgram`; the cache's file reads and
/// writes included).
public struct ProgramBuildStatistics: Sendable, Equatable, Codable {
    /// Programs compiled from OpenCL C source.
    public var sourceBuilds = 0
    /// Seconds spent compiling them.
    public var sourceSeconds = 0.0
    /// Programs created from a cached binary.
    public var binaryLoads = 0
    /// Seconds spent creating and building them.
    public var binarySeconds = 0.0
    /// Cached binaries the driver refused (removed, then built from source).
    public var refusedBinaries = 0

    public init() {}
}

/// SHA-256 (FIPS 180-4), for cache keys: Foundation on Linux has no digest API.
public enum SHA256 {
    private static let roundConstants: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// The digest of `message` as 64 lowercase hexadecimal digits.
    public static func hexDigest(of message: [UInt8]) -> String {
        digest(of: message).map { String(format: "%02x", $0) }.joined()
    }

    /// The 32-byte digest of `message`.
    public static func digest(of message: [UInt8]) -> [UInt8] {
        var state: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var padded = message
        padded.append(0x80)
        while padded.count % 64 != 56 { padded.append(0) }
        let bitLength = UInt64(message.count) &* 8
        for shift in stride(from: 56, through: 0, by: -8) { padded.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        var words = [UInt32](repeating: 0, count: 64)
        for blockStart in stride(from: 0, to: padded.count, by: 64) {
            for index in 0..<16 {
                let offset = blockStart + 4 * index
                words[index] = UInt32(padded[offset]) << 24 | UInt32(padded[offset + 1]) << 16
                    | UInt32(padded[offset + 2]) << 8 | UInt32(padded[offset + 3])
            }
            for index in 16..<64 {
                let s0 = rotateRight(words[index - 15], 7) ^ rotateRight(words[index - 15], 18) ^ (words[index - 15] >> 3)
                let s1 = rotateRight(words[index - 2], 17) ^ rotateRight(words[index - 2], 19) ^ (words[index - 2] >> 10)
                words[index] = words[index - 16] &+ s0 &+ words[index - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, h) = (state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7])
            for index in 0..<64 {
                let sum1 = rotateRight(e, 6) ^ rotateRight(e, 11) ^ rotateRight(e, 25)
                let choice = (e & f) ^ (~e & g)
                let temporary1 = h &+ sum1 &+ choice &+ roundConstants[index] &+ words[index]
                let sum0 = rotateRight(a, 2) ^ rotateRight(a, 13) ^ rotateRight(a, 22)
                let majority = (a & b) ^ (a & c) ^ (b & c)
                let temporary2 = sum0 &+ majority
                (h, g, f, e, d, c, b, a) = (g, f, e, d &+ temporary1, c, b, a, temporary1 &+ temporary2)
            }
            state[0] = state[0] &+ a; state[1] = state[1] &+ b; state[2] = state[2] &+ c; state[3] = state[3] &+ d
            state[4] = state[4] &+ e; state[5] = state[5] &+ f; state[6] = state[6] &+ g; state[7] = state[7] &+ h
        }
        return state.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> UInt32(24 - 8 * $0)) } }
    }

    private static func rotateRight(_ value: UInt32, _ count: UInt32) -> UInt32 {
        (value >> count) | (value << (32 - count))
    }
}
