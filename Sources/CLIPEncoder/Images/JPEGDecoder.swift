import CJPEG
import Foundation

/// JPEG decoding through the TurboJPEG API (errors come back as return codes).
enum JPEGDecoder {
    /// Decodes JPEG `data`; see `ImageDecoder` for the conventions. With `draftSide`, the image
    /// is decoded reduced by `JPEGDecoding.draftReduction` in the inverse DCT (Pillow's draft
    /// mode); the pixel limit applies to the full size either way.
    static func decode(data: Data, path: String, maximumPixelCount: Int, draftSide: Int? = nil) throws -> RGBImage {
        try decodeSource(data: data, path: path, maximumPixelCount: maximumPixelCount, draftSide: draftSide).convertedToRGB()
    }

    /// Decodes JPEG `data` in the mode Pillow opens it in: `RGB`, `L` (greyscale, stored as
    /// replicated RGB) or `CMYK` (CMYK and YCCK files; the inverted values Adobe files store
    /// are turned back into ink amounts, Pillow's `CMYK;I` raw mode).
    static func decodeSource(data: Data, path: String, maximumPixelCount: Int, draftSide: Int? = nil) throws -> SourceImage {
        guard let handle = tjInitDecompress() else {
            throw CLIPEncoderError.imageDecodingFailed(
                path: path, format: "JPEG", reason: "could not create a TurboJPEG decompressor")
        }
        defer { tjDestroy(handle) }

        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> SourceImage in
            let source = raw.bindMemory(to: UInt8.self)
            guard let base = source.baseAddress else { throw CLIPEncoderError.emptyImageFile(path: path) }
            let size = UInt(source.count)

            var width: Int32 = 0
            var height: Int32 = 0
            var subsampling: Int32 = 0
            var colorspace: Int32 = 0
            guard tjDecompressHeader3(handle, base, size, &width, &height, &subsampling, &colorspace) == 0 else {
                throw failure(handle, path: path)
            }
            try ImageDecoder.checkSize(
                width: Int(width), height: Int(height), limit: maximumPixelCount, path: path, format: "JPEG")

            // TurboJPEG picks the largest of its scaling factors whose output fits the size asked
            // for; ceil(side / s) on both sides is exactly the factor 1/s.
            let reduction = draftSide.map { JPEGDecoding.draftReduction(width: Int(width), height: Int(height), side: $0) } ?? 1
            width = (width + Int32(reduction) - 1) / Int32(reduction)
            height = (height + Int32(reduction) - 1) / Int32(reduction)
            let pixelCount = Int(width) * Int(height)
            let isCMYK = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
            let channels = isCMYK ? 4 : 3
            let format = isCMYK ? TJPF_CMYK : TJPF_RGB
            var decoded = [UInt8](repeating: 0, count: pixelCount * channels)
            let status = decoded.withUnsafeMutableBufferPointer { target in
                tjDecompress2(
                    handle, base, size, target.baseAddress, width, width * Int32(channels), height,
                    Int32(format.rawValue), TJFLAG_LIMITSCANS)
            }
            if status != 0 {
                // Warnings leave a complete image, except the one for data that ends early,
                // which PIL reports as a truncated file.
                let message = errorText(handle)
                let isWarning = tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue)
                if !isWarning || message.contains("Premature end") {
                    throw CLIPEncoderError.imageDecodingFailed(path: path, format: "JPEG", reason: message)
                }
            }
            if isCMYK {
                // Inverted storage back to ink amounts (Pillow's `CMYK;I`).
                return SourceImage(mode: .cmyk, width: Int(width), height: Int(height), samples: decoded.map { 255 - $0 })
            }
            let mode: SourceImage.Mode = colorspace == Int32(TJCS_GRAY.rawValue) ? .grey : .rgb
            return SourceImage(mode: mode, width: Int(width), height: Int(height), samples: decoded)
        }
    }

    private static func errorText(_ handle: tjhandle) -> String {
        guard let text = tjGetErrorStr2(handle) else { return "unknown TurboJPEG error" }
        return String(cString: text)
    }

    private static func failure(_ handle: tjhandle, path: String) -> CLIPEncoderError {
        .imageDecodingFailed(path: path, format: "JPEG", reason: errorText(handle))
    }
}
