import FileIntegrity
import Foundation
import Support

/// Decodes PNG and JPEG files into `RGBImage`s, choosing the decoder from the file's first
/// bytes (never from its extension).
///
/// The result is meant to equal PIL's `Image.open(path).convert("RGB")`:
/// - PNG (libpng's simplified API): every colour type and bit depth; transparency is dropped,
///   not composited, as `convert("RGB")` does. Exact for 8-bit files; 16-bit samples are
///   scaled to 8 bits with rounding where PIL keeps the high byte (a difference of at most 1),
///   and 16-bit greyscale is scaled where PIL clips values above 255. A `gAMA` chunk is
///   ignored, as PIL ignores it (libpng would otherwise convert the samples to sRGB gamma).
/// - JPEG (TurboJPEG): RGB/YCbCr, greyscale, and CMYK/YCCK (converted as `R = C·K/255` on the
///   inverted values Adobe files store, which is PIL's conversion). Same IDCT and upsampling
///   as PIL's default, so pixels agree up to libjpeg-turbo version differences. A truncated
///   JPEG is an error (as in PIL); other libjpeg warnings are tolerated.
public enum ImageDecoder {
    /// Default largest accepted image, in pixels (width × height): 100 megapixels.
    public static let defaultMaximumPixelCount = 100_000_000

    /// Decodes the image in `file`.
    /// - Parameters:
    ///   - maximumPixelCount: larger images are refused from their header, before any pixel
    ///     memory is allocated.
    ///   - draftSide: for JPEG files, decode in draft mode (`JPEGDecoding.draft`), reduced by 2,
    ///     4 or 8 while both sides stay at least this many pixels; nil decodes at full size.
    /// - Throws: `CLIPEncoderError.fileAccessFailed` (unreadable), `.emptyImageFile`,
    ///   `.unrecognizedImageFormat`, `.imageTooLarge`, `.imageDecodingFailed` (truncated or
    ///   corrupt data); all name the file.
    public static func decode(
        file: URL, maximumPixelCount: Int = defaultMaximumPixelCount, draftSide: Int? = nil
    ) throws -> RGBImage {
        let data = try readFile(file)
        return try decode(data: data, path: file.path, maximumPixelCount: maximumPixelCount, draftSide: draftSide)
    }

    /// Decodes an image held in memory; `path` names it in errors.
    /// - Throws: as `decode(file:maximumPixelCount:draftSide:)`.
    public static func decode(
        data: Data, path: String, maximumPixelCount: Int = defaultMaximumPixelCount, draftSide: Int? = nil
    ) throws -> RGBImage {
        switch ImageFormat(signatureOf: data) {
        case .none:
            if data.isEmpty { throw CLIPEncoderError.emptyImageFile(path: path) }
            throw CLIPEncoderError.unrecognizedImageFormat(path: path)
        case .png:
            return try PNGDecoder.decode(data: data, path: path, maximumPixelCount: maximumPixelCount)
        case .jpeg:
            return try JPEGDecoder.decode(data: data, path: path, maximumPixelCount: maximumPixelCount, draftSide: draftSide)
        }
    }

    /// The bytes of `file`, a regular file (a FIFO or a device is refused before it is opened).
    private static func readFile(_ file: URL) throws -> Data {
        try RegularFile.require(file)
        do {
            return try Data(contentsOf: file)
        } catch {
            throw CLIPEncoderError.fileAccessFailed(path: file.path, operation: "read", reason: ReadableError.reason(error))
        }
    }

    /// Decodes the image in `file` in the mode Pillow opens it in (`SourceImage`), for the
    /// preprocessing that resizes before converting to RGB.
    /// - Throws: as `decode(file:maximumPixelCount:draftSide:)`.
    public static func decodeSource(
        file: URL, maximumPixelCount: Int = defaultMaximumPixelCount, draftSide: Int? = nil
    ) throws -> SourceImage {
        let data = try readFile(file)
        return try decodeSource(data: data, path: file.path, maximumPixelCount: maximumPixelCount, draftSide: draftSide)
    }

    /// Decodes an image held in memory in the mode Pillow opens it in; `path` names it in errors.
    /// - Throws: as `decode(file:maximumPixelCount:draftSide:)`.
    public static func decodeSource(
        data: Data, path: String, maximumPixelCount: Int = defaultMaximumPixelCount, draftSide: Int? = nil
    ) throws -> SourceImage {
        switch ImageFormat(signatureOf: data) {
        case .none:
            if data.isEmpty { throw CLIPEncoderError.emptyImageFile(path: path) }
            throw CLIPEncoderError.unrecognizedImageFormat(path: path)
        case .png:
            return try PNGDecoder.decodeSource(data: data, path: path, maximumPixelCount: maximumPixelCount)
        case .jpeg:
            return try JPEGDecoder.decodeSource(
                data: data, path: path, maximumPixelCount: maximumPixelCount, draftSide: draftSide)
        }
    }

    /// Checks a header's size against the limit.
    static func checkSize(width: Int, height: Int, limit: Int, path: String, format: String) throws {
        guard width > 0, height > 0 else {
            throw CLIPEncoderError.imageDecodingFailed(
                path: path, format: format, reason: "header gives an empty size \(width)×\(height)")
        }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= limit else {
            throw CLIPEncoderError.imageTooLarge(path: path, width: width, height: height, limitPixels: limit)
        }
    }
}

/// Image file formats recognised from their signature.
enum ImageFormat {
    case png
    case jpeg

    /// The format whose signature starts `data`, or nil.
    init?(signatureOf data: Data) {
        let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if data.count >= pngSignature.count, data.prefix(pngSignature.count).elementsEqual(pngSignature) {
            self = .png
        } else if data.count >= 3, data.prefix(3).elementsEqual([0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else {
            return nil
        }
    }
}
