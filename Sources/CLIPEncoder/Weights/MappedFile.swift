#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FileIntegrity

/// A read-only memory mapping of a whole file, unmapped when the object goes away.
///
/// `@unchecked Sendable`: the mapping is private and read-only and never changes after
/// `init`, so concurrent reads from several threads are safe.
final class MappedFile: @unchecked Sendable {
    /// The file's path, for error messages.
    let path: String
    /// The mapped bytes (`count` of them); `nil` only for an empty file, which is not mapped.
    private let base: UnsafeRawPointer?
    /// Size of the file in bytes.
    let count: Int

    /// Maps the file at `path`.
    /// - Throws: `CLIPEncoderError.fileAccessFailed` when the file cannot be opened, sized or mapped.
    init(path: String) throws {
        self.path = path
        try RegularFile.require(path: path)
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw CLIPEncoderError.fileAccessFailed(path: path, operation: "open", reason: Self.errnoText())
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw CLIPEncoderError.fileAccessFailed(path: path, operation: "stat", reason: Self.errnoText())
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw CLIPEncoderError.fileAccessFailed(path: path, operation: "open", reason: "not a regular file")
        }
        count = Int(status.st_size)
        if count == 0 {
            base = nil
            return
        }
        guard let mapping = mmap(nil, count, PROT_READ, MAP_PRIVATE, descriptor, 0),
              mapping != MAP_FAILED
        else {
            throw CLIPEncoderError.fileAccessFailed(path: path, operation: "mmap", reason: Self.errnoText())
        }
        base = UnsafeRawPointer(mapping)
    }

    deinit {
        if let base {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        }
    }

    /// Calls `body` with the bytes `range` of the file. The buffer must not escape `body`.
    func withBytes<Result>(
        _ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range outside the mapping")
        guard let base else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}
