import CZlib
import Foundation

/// Inflates gzip data with zlib (`inflateInit2_` with `16 + MAX_WBITS`, so zlib expects and
/// checks the gzip header and CRC). Concatenated gzip members are inflated one after another.
enum GzipInflater {
    /// Whether `data` starts with the gzip magic bytes `1f 8b`.
    static func isGzip(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
    }

    /// The inflated bytes of `data`.
    /// - Parameters:
    ///   - file: named in errors.
    ///   - ceiling: given the bytes inflated so far, the most the output may hold, or `nil`
    ///     while that cannot be told yet (the header is incomplete); asked after every block
    ///     until it answers, so a decompression bomb stops at the size its header announces.
    ///   - maximumBytes: an absolute ceiling, whatever the header says.
    /// - Throws: `ExperimentsError.decompressionFailed` with zlib's message, or when the output
    ///   grows past the ceiling; whatever `ceiling` throws.
    static func inflate(
        _ data: Data, file: String, maximumBytes: Int = 1 << 31, ceiling: (([UInt8]) throws -> Int?)? = nil
    ) throws -> [UInt8] {
        var input = [UInt8](data)
        var output: [UInt8] = []
        var limit: Int? = ceiling == nil ? maximumBytes : nil
        output.reserveCapacity(min(max(input.count * 4, 1 << 16), maximumBytes))
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        var stream = z_stream()
        var status = inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            throw ExperimentsError.decompressionFailed(file: file, reason: "inflateInit2 returned \(status)")
        }
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
                if output.count > (limit ?? maximumBytes) {
                    throw ExperimentsError.decompressionFailed(
                        file: file, reason: "inflates to more than \(limit ?? maximumBytes) bytes, the size its header announces (or the limit)")
                }
                switch status {
                case Z_OK:
                    if stream.avail_in == 0 && produced == 0 {
                        throw ExperimentsError.decompressionFailed(file: file, reason: "data ends in the middle of the stream")
                    }
                case Z_STREAM_END:
                    // Another gzip member may follow; anything else after the end is an error.
                    if stream.avail_in == 0 { return }
                    let consumed = inputCount - Int(stream.avail_in)
                    guard consumed + 1 < inputCount, inputBase[consumed] == 0x1f, inputBase[consumed + 1] == 0x8b else {
                        throw ExperimentsError.decompressionFailed(file: file, reason: "trailing bytes after the gzip stream")
                    }
                    guard inflateReset(&stream) == Z_OK else {
                        throw ExperimentsError.decompressionFailed(file: file, reason: "inflateReset failed")
                    }
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw ExperimentsError.decompressionFailed(file: file, reason: "data ends in the middle of the stream")
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                    throw ExperimentsError.decompressionFailed(file: file, reason: message)
                }
            }
        }
        return output
    }
}
