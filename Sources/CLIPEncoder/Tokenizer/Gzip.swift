import CZlib
import Foundation

/// Why a gzip stream could not be decompressed.
public enum GzipError: Error, CustomStringConvertible, Equatable {
    /// zlib refused to start (`inflateInit2_` returned `code`).
    case initializationFailed(code: Int32)
    /// The data is not a valid gzip stream (zlib's `code` and message at byte `offset` of the input).
    case corruptData(code: Int32, message: String, offset: Int)
    /// The input ended before the gzip stream did.
    case truncated(inputBytes: Int)
    /// The stream inflates to more than `limit` bytes (a corrupt file or a decompression bomb).
    case tooLarge(limit: Int)

    public var description: String {
        switch self {
        case .initializationFailed(let code):
            return "gzip: zlib could not be initialised (inflateInit2 returned \(code))"
        case .corruptData(let code, let message, let offset):
            return "gzip: corrupt data near input byte \(offset): \(message) (zlib code \(code))"
        case .truncated(let inputBytes):
            return "gzip: stream ends early (\(inputBytes) input bytes, no end-of-stream marker)"
        case .tooLarge(let limit):
            return "gzip: inflates to more than \(limit) bytes (corrupt, or not the file expected)"
        }
    }
}

/// Decompression of gzip files (RFC 1952) through the system zlib.
public enum Gzip {
    /// Decompresses a whole gzip file held in memory; concatenated members are joined.
    ///
    /// - Parameters:
    ///   - data: the bytes of a `.gz` file.
    ///   - maximumBytes: the most bytes the output may have; inflating stops beyond it.
    /// - Returns: the decompressed bytes.
    /// - Throws: ``GzipError`` when the data is not gzip, is corrupt, ends early or inflates
    ///   past `maximumBytes`.
    public static func decompress(_ data: Data, maximumBytes: Int = 1 << 28) throws -> Data {
        if data.isEmpty { throw GzipError.truncated(inputBytes: 0) }
        let input = [UInt8](data)
        var output = Data()
        output.reserveCapacity(min(input.count * 3, maximumBytes))
        var stream = z_stream()
        // 16 + MAX_WBITS: expect a gzip header and trailer rather than a raw zlib stream.
        let initialization = inflateInit2_(
            &stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initialization == Z_OK else {
            throw GzipError.initializationFailed(code: initialization)
        }
        defer { inflateEnd(&stream) }

        let chunkSize = 1 << 16
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var consumed = 0
        while true {
            let status: Int32 = input.withUnsafeBufferPointer { inputBuffer in
                chunk.withUnsafeMutableBufferPointer { chunkBuffer in
                    let base = inputBuffer.baseAddress.map { UnsafeMutablePointer(mutating: $0) }
                    stream.next_in = base.map { $0 + consumed }
                    stream.avail_in = uInt(input.count - consumed)
                    stream.next_out = chunkBuffer.baseAddress
                    stream.avail_out = uInt(chunkSize)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    consumed = input.count - Int(stream.avail_in)
                    return status
                }
            }
            let produced = chunkSize - Int(stream.avail_out)
            if produced > 0 { output.append(contentsOf: chunk[0..<produced]) }
            if output.count > maximumBytes { throw GzipError.tooLarge(limit: maximumBytes) }
            switch status {
            case Z_STREAM_END:
                // Another gzip member may follow (as `cat a.gz b.gz` makes); skip trailing zeros.
                let rest = input[consumed...]
                guard let next = rest.firstIndex(where: { $0 != 0 }) else { return output }
                consumed = next
                let reset = inflateReset(&stream)
                guard reset == Z_OK else {
                    throw GzipError.corruptData(code: reset, message: "cannot reset for next member", offset: consumed)
                }
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress possible: the input is exhausted before the end of the stream.
                guard produced > 0 else { throw GzipError.truncated(inputBytes: input.count) }
                continue
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "unknown error"
                throw GzipError.corruptData(code: status, message: message, offset: consumed)
            }
        }
    }
}
