import CZlib
import Foundation

/// Why a gzip stream could not be decompressed.
public enum GzipError: Error, CustomStringConvertible, Equatable, Sendable {
    /// zlib refused to start (`inflateInit2_` returned `code`).
    case initializationFailed(code: Int32)
    /// The data is not a valid gzip stream (zlib's `code` and message at byte `offset` of the input).
    case corruptData(code: Int32, message: String, offset: Int)
    /// The input ended before the gzip stream did.
    case truncated(inputBytes: Int)
    /// Bytes that do not begin another gzip member follow the end of a member, at input byte `offset`.
    case trailingBytes(offset: Int)
    /// The stream inflates to more than `limit` bytes (a corrupt file, a decompression bomb, or
    /// more than the size the caller's header announces).
    case tooLarge(limit: Int)

    /// What went wrong, without the `gzip:` prefix of `description`: for wrapping into an error
    /// that names the file.
    public var reason: String {
        switch self {
        case .initializationFailed(let code):
            return "zlib could not be initialised (inflateInit2 returned \(code))"
        case .corruptData(let code, let message, let offset):
            return "corrupt data near input byte \(offset): \(message) (zlib code \(code))"
        case .truncated:
            return "data ends in the middle of the stream"
        case .trailingBytes(let offset):
            return "trailing bytes after the gzip stream (at input byte \(offset))"
        case .tooLarge(let limit):
            return "inflates to more than \(limit) bytes (corrupt, not the file expected, or larger than its header announces)"
        }
    }

    public var description: String { "gzip: \(reason)" }
}

/// Decompression of gzip files (RFC 1952) through the system zlib, which checks every member's
/// header and CRC.
///
/// The rule for what follows a member is strict: the input either ends there or another gzip
/// member begins (as `cat a.gz b.gz` makes; the members' outputs are joined). Anything else,
/// trailing zeros included, is `GzipError.trailingBytes`.
public enum Gzip {
    /// Whether `data` starts with the gzip magic bytes `1f 8b`.
    public static func isGzip(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
    }

    /// Decompresses a whole gzip file held in memory; concatenated members are joined.
    ///
    /// - Parameters:
    ///   - data: the bytes of a `.gz` file.
    ///   - maximumBytes: the most bytes the output may have; inflating stops beyond it.
    /// - Returns: the decompressed bytes.
    /// - Throws: ``GzipError`` when the data is not gzip, is corrupt, ends early, has trailing
    ///   bytes or inflates past `maximumBytes`.
    public static func decompress(_ data: Data, maximumBytes: Int = 1 << 28) throws -> Data {
        Data(try inflate(data, maximumBytes: maximumBytes))
    }

    /// The inflated bytes of `data`; concatenated members are joined.
    /// - Parameters:
    ///   - data: the bytes of a `.gz` file.
    ///   - maximumBytes: an absolute ceiling on the output, whatever `ceiling` says.
    ///   - ceiling: given the bytes inflated so far, the most the output may hold, or `nil`
    ///     while that cannot be told yet (a header is incomplete); asked after every block
    ///     until it answers, so a decompression bomb stops at the size its header announces.
    /// - Throws: ``GzipError`` as `decompress` does; whatever `ceiling` throws.
    public static func inflate(
        _ data: Data, maximumBytes: Int, ceiling: (([UInt8]) throws -> Int?)? = nil
    ) throws -> [UInt8] {
        if data.isEmpty { throw GzipError.truncated(inputBytes: 0) }
        var input = [UInt8](data)
        var output: [UInt8] = []
        var limit: Int? = ceiling == nil ? maximumBytes : nil
        output.reserveCapacity(min(max(input.count * 4, 1 << 16), maximumBytes))
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        var stream = z_stream()
        // 16 + MAX_WBITS: expect a gzip header and trailer rather than a raw zlib stream.
        var status = inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw GzipError.initializationFailed(code: status) }
        defer { inflateEnd(&stream) }

        let inputCount = input.count
        try input.withUnsafeMutableBufferPointer { inputBuffer in
            guard let inputBase = inputBuffer.baseAddress else { return }
            stream.next_in = inputBase
            stream.avail_in = uInt(inputCount)
            while true {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { chunkBuffer in
                    stream.next_out = chunkBuffer.baseAddress
                    stream.avail_out = uInt(chunkBuffer.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return chunkBuffer.count - Int(stream.avail_out)
                }
                output.append(contentsOf: chunk[0..<produced])
                if limit == nil, let announced = try ceiling?(output) { limit = min(announced, maximumBytes) }
                if output.count > (limit ?? maximumBytes) { throw GzipError.tooLarge(limit: limit ?? maximumBytes) }
                let consumed = inputCount - Int(stream.avail_in)
                switch status {
                case Z_OK:
                    if stream.avail_in == 0 && produced == 0 { throw GzipError.truncated(inputBytes: inputCount) }
                case Z_STREAM_END:
                    // Another gzip member may follow; anything else after the end is an error.
                    if stream.avail_in == 0 { return }
                    guard consumed + 1 < inputCount, inputBase[consumed] == 0x1f, inputBase[consumed + 1] == 0x8b else {
                        throw GzipError.trailingBytes(offset: consumed)
                    }
                    let reset = inflateReset(&stream)
                    guard reset == Z_OK else {
                        throw GzipError.corruptData(code: reset, message: "cannot reset for the next member", offset: consumed)
                    }
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw GzipError.truncated(inputBytes: inputCount)
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "unknown error"
                    throw GzipError.corruptData(code: status, message: message, offset: consumed)
                }
            }
        }
        return output
    }
}
