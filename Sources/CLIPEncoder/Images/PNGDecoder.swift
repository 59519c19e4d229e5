import CPNG
import Foundation

/// PNG decoding through libpng's simplified API (no setjmp needed from Swift).
enum PNGDecoder {
    /// Decodes PNG `data` to RGB; see `ImageDecoder` for the conventions.
    static func decode(data: Data, path: String, maximumPixelCount: Int) throws -> RGBImage {
        try decodeSource(data: data, path: path, maximumPixelCount: maximumPixelCount).convertedToRGB()
    }

    /// Decodes PNG `data` in the mode Pillow opens it in (`SourceImage.Mode`), read off the
    /// `IHDR` chunk: colour type 0 is `1` at 1 bit, `I;16` at 16 bits and `L` otherwise; 2 `RGB`;
    /// 3 `P`; 4 `LA`; 6 `RGBA`. Only the first image of an animated PNG (its `IDAT` image) is
    /// read, which is the frame Pillow shows before any `seek`.
    static func decodeSource(data: Data, path: String, maximumPixelCount: Int) throws -> SourceImage {
        // libpng converts samples from a gAMA chunk's gamma to sRGB; PIL ignores gAMA. Hiding
        // the chunk from libpng makes both return the stored samples.
        let data = withoutGammaChunks(data) ?? data
        let header = Header(data)
        let mode = header?.mode ?? .rgba
        return try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> SourceImage in
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

            if mode == .grey16 {
                // 16-bit grey as stored: a linear output format from a 16-bit file without
                // gamma information is passed through unchanged.
                image.format = UInt32(PNG_FORMAT_FLAG_LINEAR)  // PNG_FORMAT_LINEAR_Y
                var wide = [UInt16](repeating: 0, count: width * height)
                let finished = wide.withUnsafeMutableBytes { buffer in
                    png_image_finish_read(&image, nil, buffer.baseAddress, Int32(width), nil)
                }
                guard finished != 0 else { throw failure(image, path: path) }
                return SourceImage(mode: .grey16, width: width, height: height, samples: [], wideSamples: wide)
            }

            // Read as 8-bit RGBA and drop alpha afterwards where the mode has none: asking for
            // RGB would make libpng composite transparent pixels, while PIL's convert("RGB")
            // just discards alpha. 16-bit samples are declared sRGB-encoded so that libpng only
            // rescales them instead of treating them as linear light and gamma-encoding them.
            image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)  // PNG_FORMAT_RGBA
            image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
            let rowStride = width * 4  // components per row, the PNG_IMAGE_ROW_STRIDE of RGBA
            var rgba = [UInt8](repeating: 0, count: rowStride * height)
            let finished = rgba.withUnsafeMutableBytes { buffer in
                png_image_finish_read(&image, nil, buffer.baseAddress, Int32(rowStride), nil)
            }
            guard finished != 0 else { throw failure(image, path: path) }
            if mode.storedChannels == 4 {
                return SourceImage(mode: mode, width: width, height: height, samples: rgba)
            }
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
            let transparency = header?.hasTransparency == true
                ? (0..<(width * height)).map { rgba[4 * $0 + 3] } : nil
            return SourceImage(
                mode: mode, width: width, height: height, samples: rgb, paletteZero: header?.paletteZero ?? [0, 0, 0],
                transparency: transparency)
        }
    }

    /// What the `IHDR` and `PLTE` chunks say about the mode Pillow opens a PNG in.
    struct Header {
        /// Bits per sample.
        let bitDepth: Int
        /// PNG colour type (0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA).
        let colourType: Int
        /// The first palette entry's colour (black without a `PLTE` chunk).
        let paletteZero: [UInt8]
        /// Whether a `tRNS` chunk gives transparency (Pillow's `info["transparency"]`).
        let hasTransparency: Bool

        /// Reads the chunks before the first `IDAT`; nil when the data does not start with an
        /// `IHDR` chunk (libpng then reports the error).
        init?(_ data: Data) {
            let bytes = [UInt8](data.prefix(1 << 16))
            guard bytes.count >= 33, String(decoding: bytes[12..<16], as: UTF8.self) == "IHDR" else { return nil }
            bitDepth = Int(bytes[24])
            colourType = Int(bytes[25])
            var zero: [UInt8] = [0, 0, 0]
            var transparency = false
            var offset = 8
            while offset + 12 <= bytes.count {
                let length = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
                let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
                if type == "IDAT" { break }
                if type == "tRNS" { transparency = true }
                if type == "PLTE", length >= 3, offset + 11 <= bytes.count {
                    zero = Array(bytes[(offset + 8)..<(offset + 11)])
                }
                offset += 12 + length
            }
            paletteZero = zero
            hasTransparency = transparency
        }

        /// Pillow's mode for this colour type and depth.
        var mode: SourceImage.Mode {
            switch colourType {
            case 0: return bitDepth == 1 ? .bilevel : bitDepth == 16 ? .grey16 : .grey
            case 2: return .rgb
            case 3: return .palette
            case 4: return .greyAlpha
            default: return .rgba
            }
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
