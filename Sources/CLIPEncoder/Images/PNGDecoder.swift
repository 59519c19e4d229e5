import CPNG
import Foundation

/// PNG decoding through libpng's simplified API (no setjmp needed from Swift).
enum PNGDecoder {
    /// Decodes PNG `data`; see `ImageDecoder` for the conventions.
    static func decode(data: Data, path: String, maximumPixelCount: Int) throws -> RGBImage {
        // libpng converts samples from a gAMA chunk's gamma to sRGB; PIL ignores gAMA. Hiding
        // the chunk from libpng makes both return the stored samples.
        let data = withoutGammaChunks(data) ?? data
        return try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> RGBImage in
            var image = png_image()
            image.version = UInt32(PNG_IMAGE_VERSION)
            defer { png_image_free(&image) }
            guard png_image_begin_read_from_memory(&image, bytes.baseAddress, bytes.count) != 0 else {
                throw failure(image, path: path)
            }
            let width = Int(image.width)
            let height = Int(image.height)
            try ImageDecoder.checkSize(
                width: width, height: height, limit: maximumPixelCount, path: path, format: "PNG")

            // Read as 8-bit RGBA and drop alpha afterwards: asking for RGB would make libpng
            // composite transparent pixels, while PIL's convert("RGB") just discards alpha.
            // 16-bit samples are declared sRGB-encoded so that libpng only rescales them
            // instead of treating them as linear light and gamma-encoding them.
            image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)  // PNG_FORMAT_RGBA
            image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
            let rowStride = width * 4  // components per row, the PNG_IMAGE_ROW_STRIDE of RGBA
            var rgba = [UInt8](repeating: 0, count: rowStride * height)
            let finished = rgba.withUnsafeMutableBytes { buffer in
                png_image_finish_read(&image, nil, buffer.baseAddress, Int32(rowStride), nil)
            }
            guard finished != 0 else { throw failure(image, path: path) }

            var rgb = [UInt8](repeating: 0, count: width * height * 3)
            rgba.withUnsafeBufferPointer { source in
                rgb.withUnsafeMutableBufferPointer { target in
                    for pixel in 0..<(width * height) {
                        target[3 * pixel] = source[4 * pixel]
                        target[3 * pixel + 1] = source[4 * pixel + 1]
                        target[3 * pixel + 2] = source[4 * pixel + 2]
                    }
                }
            }
            return RGBImage(checkedWidth: width, height: height, pixels: rgb)
        }
    }

    /// The error libpng reported in `image.message`.
    private static func failure(_ image: png_image, path: String) -> CLIPEncoderError {
        var message = image.message
        let text = withUnsafeBytes(of: &message) { raw -> String in
            let bytes = raw.bindMemory(to: UInt8.self)
            let length = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<length], as: UTF8.self)
        }
        return .imageDecodingFailed(path: path, format: "PNG", reason: text.isEmpty ? "unknown libpng error" : text)
    }

    /// `data` without its `gAMA` chunks, or nil when it has none. Only chunks before the first
    /// `IDAT` are looked at (where the format places `gAMA`); a damaged chunk length stops the
    /// scan and leaves the data for libpng to judge.
    static func withoutGammaChunks(_ data: Data) -> Data? {
        let gammaChunks = data.withUnsafeBytes { bytes -> [Range<Int>] in
            var found: [Range<Int>] = []
            var offset = 8  // after the signature
            while offset + 12 <= bytes.count {
                let length = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
                let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
                let end = offset + 12 + length  // length, type, data, CRC
                guard end <= bytes.count, type != "IDAT" else { break }
                if type == "gAMA" { found.append(offset..<end) }
                offset = end
            }
            return found
        }
        guard !gammaChunks.isEmpty else { return nil }
        let bytes = [UInt8](data)
        var result = [UInt8]()
        result.reserveCapacity(bytes.count)
        var copied = 0
        for chunk in gammaChunks {
            result.append(contentsOf: bytes[copied..<chunk.lowerBound])
            copied = chunk.upperBound
        }
        result.append(contentsOf: bytes[copied...])
        return Data(result)
    }
}
