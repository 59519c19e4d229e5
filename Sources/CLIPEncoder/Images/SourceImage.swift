/// A decoded image in the mode Pillow gives the same file (`Image.open(path).mode`), before any
/// conversion to RGB: the `openai` preprocessing resizes and crops in this mode and converts to
/// RGB afterwards, as OpenAI's CLIP and open_clip do.
///
/// Samples are stored so that the conversion to RGB and the per-mode resize rules stay simple:
/// - `RGB`, `L`, `1`, `P`: three interleaved bytes per pixel, the pixel's RGB colour (grey
///   replicated, palette entries looked up). Resizing `L` as replicated RGB gives the same bytes
///   as resizing `L` (every channel runs the same arithmetic); `1` and `P` are resized with
///   nearest-neighbour, which moves pixels without mixing them, so looking colours up first
///   changes nothing either.
/// - `RGBA`, `LA`: four interleaved bytes per pixel, `R, G, B, A` (`LA` with its grey replicated).
/// - `CMYK`: four interleaved bytes per pixel, the ink amounts as Pillow stores them (0 is no ink;
///   Adobe's inverted JPEG values are turned back when decoding, as Pillow's `CMYK;I` does).
/// - `I;16`: one 16-bit sample per pixel in `wideSamples` (`samples` is empty).
public struct SourceImage: Sendable, Equatable {
    /// Pillow's image modes that PNG and JPEG files open in.
    public enum Mode: String, Sendable, Equatable, CaseIterable {
        /// 8-bit RGB (PNG colour type 2, JPEG YCbCr or RGB).
        case rgb = "RGB"
        /// 8-bit grey (PNG colour type 0 at 2, 4 or 8 bits; greyscale JPEG).
        case grey = "L"
        /// 1-bit black and white (PNG colour type 0 at 1 bit).
        case bilevel = "1"
        /// Palette (PNG colour type 3).
        case palette = "P"
        /// RGB with alpha (PNG colour type 6).
        case rgba = "RGBA"
        /// Grey with alpha (PNG colour type 4).
        case greyAlpha = "LA"
        /// Ink amounts (CMYK or YCCK JPEG).
        case cmyk = "CMYK"
        /// 16-bit grey (PNG colour type 0 at 16 bits).
        case grey16 = "I;16"

        /// Interleaved bytes per pixel in `samples` (0 for `I;16`, whose samples are wide).
        public var storedChannels: Int {
            switch self {
            case .rgb, .grey, .bilevel, .palette: return 3
            case .rgba, .greyAlpha, .cmyk: return 4
            case .grey16: return 0
            }
        }
    }

    /// The mode Pillow opens the file in.
    public let mode: Mode
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `height × width × mode.storedChannels` bytes (see the type's description).
    public let samples: [UInt8]
    /// `height × width` 16-bit samples for `I;16`; empty otherwise.
    public let wideSamples: [UInt16]
    /// The colour of palette entry 0 for `P` (what torchvision's padding, index 0, shows), else
    /// black.
    public let paletteZero: [UInt8]
    /// Per-pixel alpha of a `P`, `L`, `1` or `RGB` PNG with a `tRNS` chunk (Pillow's
    /// `info["transparency"]`), nil otherwise. `convert("RGB")` ignores it; transformers'
    /// `convert_to_rgb` composites onto white with it.
    public let transparency: [UInt8]?

    /// Wraps decoded samples whose counts the decoder has checked.
    init(
        mode: Mode, width: Int, height: Int, samples: [UInt8], wideSamples: [UInt16] = [],
        paletteZero: [UInt8] = [0, 0, 0], transparency: [UInt8]? = nil
    ) {
        self.mode = mode
        self.width = width
        self.height = height
        self.samples = samples
        self.wideSamples = wideSamples
        self.paletteZero = paletteZero
        self.transparency = transparency
    }

    /// An RGB image as a source in mode `RGB`.
    public init(_ image: RGBImage) {
        self.init(mode: .rgb, width: image.width, height: image.height, samples: image.pixels)
    }

    /// The image converted to RGB as Pillow's `convert("RGB")` does: alpha dropped (not
    /// composited), `I;16` clipped to 255, CMYK as `255 − K − C·(255 − K)/255` with Pillow's
    /// rounding (`cmyk2rgb`).
    public func convertedToRGB() -> RGBImage {
        RGBImage(checkedWidth: width, height: height, pixels: Self.rgbBytes(
            mode: mode, samples: samples, wideSamples: wideSamples, pixelCount: width * height))
    }

    /// The image converted to RGB as transformers' `convert_to_rgb` does (both of its CLIP
    /// processors): an image with alpha (`RGBA`, `LA`) or a `tRNS` transparency is converted to
    /// `RGBA` and composited onto opaque white with Pillow's `alpha_composite`, then alpha is
    /// dropped; any other image is `convert("RGB")`-ed.
    public func convertedToRGBOverWhite() -> RGBImage {
        let pixelCount = width * height
        let alpha: [UInt8]
        switch mode {
        case .rgba, .greyAlpha:
            alpha = (0..<pixelCount).map { samples[4 * $0 + 3] }
        default:
            guard let transparency else { return convertedToRGB() }
            alpha = transparency
        }
        var rgb = Self.rgbBytes(mode: mode, samples: samples, wideSamples: wideSamples, pixelCount: pixelCount)
        for pixel in 0..<pixelCount {
            let a = Int(alpha[pixel])
            for channel in 0..<3 {
                rgb[3 * pixel + channel] = Self.overWhite(Int(rgb[3 * pixel + channel]), alpha: a)
            }
        }
        return RGBImage(checkedWidth: width, height: height, pixels: rgb)
    }

    /// One channel of Pillow's `alpha_composite(white, source)` (`AlphaComposite.c`, 7 extra
    /// bits): with an opaque white destination its coefficients are `a·128` and `(255 − a)·128`.
    @inline(__always)
    static func overWhite(_ value: Int, alpha: Int) -> UInt8 {
        guard alpha != 0 else { return 255 }
        let precision = 7
        let sourceCoefficient = alpha * 255 * 255 * (1 << precision) / (255 * 255)
        let whiteCoefficient = 255 * (1 << precision) - sourceCoefficient
        let sum = value * sourceCoefficient + 255 * whiteCoefficient + (0x80 << precision)
        return UInt8(truncatingIfNeeded: (((sum >> 8) + sum) >> 8) >> precision)
    }

    /// RGB bytes of `pixelCount` pixels stored as `mode` stores them (see `convertedToRGB`).
    static func rgbBytes(mode: Mode, samples: [UInt8], wideSamples: [UInt16], pixelCount: Int) -> [UInt8] {
        switch mode {
        case .rgb, .grey, .bilevel, .palette:
            return samples
        case .rgba, .greyAlpha:
            var rgb = [UInt8](repeating: 0, count: pixelCount * 3)
            for pixel in 0..<pixelCount {
                rgb[3 * pixel] = samples[4 * pixel]
                rgb[3 * pixel + 1] = samples[4 * pixel + 1]
                rgb[3 * pixel + 2] = samples[4 * pixel + 2]
            }
            return rgb
        case .cmyk:
            var rgb = [UInt8](repeating: 0, count: pixelCount * 3)
            for pixel in 0..<pixelCount {
                let remaining = 255 - Int(samples[4 * pixel + 3])
                for channel in 0..<3 {
                    let ink = Int(samples[4 * pixel + channel])
                    rgb[3 * pixel + channel] = UInt8(clamping: remaining - multiplyDivide255(ink, remaining))
                }
            }
            return rgb
        case .grey16:
            var rgb = [UInt8](repeating: 0, count: pixelCount * 3)
            for pixel in 0..<pixelCount {
                let value = UInt8(clamping: wideSamples[pixel])
                rgb[3 * pixel] = value
                rgb[3 * pixel + 1] = value
                rgb[3 * pixel + 2] = value
            }
            return rgb
        }
    }

    /// `a · b / 255` rounded as Pillow's `MULDIV255`: `t = a·b + 128`, `((t >> 8) + t) >> 8`.
    @inline(__always)
    static func multiplyDivide255(_ a: Int, _ b: Int) -> Int {
        let t = a * b + 128
        return ((t >> 8) + t) >> 8
    }
}
