import CZlib
import Foundation

/// gzip files made in the tests (zlib's deflate with a gzip header), to feed the readers under test.
public enum GzipCompression {
    /// zlib refused: `call` returned `status`.
    public struct CompressionFailed: Error, CustomStringConvertible {
        public let call: String
        public let status: Int32
        public var description: String { "gzip: \(call) returned \(status)" }
    }

    /// `bytes` gzipped with zlib (best compression).
    public static func compress(_ bytes: [UInt8]) throws -> Data {
        var stream = z_stream()
        guard deflateInit2_(&stream, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw CompressionFailed(call: "deflateInit2", status: Z_STREAM_ERROR)
        }
        defer { deflateEnd(&stream) }
        var input = bytes
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 64)
        let status = input.withUnsafeMutableBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                stream.next_in = inputBuffer.baseAddress
                stream.avail_in = uInt(inputBuffer.count)
                stream.next_out = outputBuffer.baseAddress
                stream.avail_out = uInt(outputBuffer.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw CompressionFailed(call: "deflate", status: status) }
        return Data(output.prefix(Int(stream.total_out)))
    }
}
