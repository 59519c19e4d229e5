import FileIntegrity
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
        return SHA256.hex(bytes)
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
