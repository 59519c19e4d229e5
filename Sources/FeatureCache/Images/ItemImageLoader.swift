import CLIPEncoder
import Datasets
import Foundation

/// Turns the items of a dataset split into RGB images: decodes files (or takes in-memory
/// pixels), applies the item's `transform` on the pixels as stored (grey images stay grey until
/// the transform is done, as the demo's shifts expect), then expands grey to RGB.
public struct ItemImageLoader: Sendable {
    /// Largest image decoded, in pixels.
    public var maximumPixelCount: Int

    /// A loader refusing files larger than `maximumPixelCount` pixels.
    public init(maximumPixelCount: Int = ImageDecoder.defaultMaximumPixelCount) {
        self.maximumPixelCount = maximumPixelCount
    }

    /// The item's pixels after its transform, as RGB.
    /// - Parameters:
    ///   - index: the item's position in its split, which seeds the transform's noise.
    ///   - draftSide: decode a JPEG file in draft mode keeping both sides at least this long
    ///     (`JPEGDecoding.draft`); ignored for items with a transform, whose parameters are in
    ///     the stored image's pixels.
    /// - Throws: `CLIPEncoderError` for a file that cannot be decoded (naming it),
    ///   `FeatureCacheError.invalidImage` for inconsistent in-memory pixels,
    ///   `FeatureCacheError.invalidTransform` for a transform that cannot be applied.
    public func image(for item: LabeledImage, index: Int, draftSide: Int? = nil) throws -> RGBImage {
        var pixels = try storedPixels(of: item, index: index, draftSide: item.transform == nil ? draftSide : nil)
        if let spec = item.transform {
            pixels = try ImageTransform(spec).apply(to: pixels, index: index)
        }
        return try Self.rgb(pixels, index: index)
    }

    /// The item's pixels as stored: grey or RGB, before any transform (a JPEG file reduced in
    /// draft mode when `draftSide` is set).
    /// - Throws: as `image(for:index:draftSide:)`.
    public func storedPixels(of item: LabeledImage, index: Int, draftSide: Int? = nil) throws -> InMemoryImage {
        switch item.source {
        case .file(let url):
            let decoded = try ImageDecoder.decode(file: url, maximumPixelCount: maximumPixelCount, draftSide: draftSide)
            return InMemoryImage(width: decoded.width, height: decoded.height, channels: 3, pixels: decoded.pixels)
        case .pixels(let image):
            guard image.width > 0, image.height > 0, image.channels == 1 || image.channels == 3 else {
                throw FeatureCacheError.invalidImage(
                    item: "item \(index)",
                    reason: "in-memory image is \(image.width)×\(image.height) with \(image.channels) channels (need a positive size and 1 or 3 channels)")
            }
            guard image.pixels.count == image.width * image.height * image.channels else {
                throw FeatureCacheError.invalidImage(
                    item: "item \(index)",
                    reason: "\(image.pixels.count) bytes do not hold \(image.width)×\(image.height)×\(image.channels) values")
            }
            return image
        }
    }

    /// `image` as RGB: grey values copied to the three channels.
    static func rgb(_ image: InMemoryImage, index: Int) throws -> RGBImage {
        if image.channels == 3 {
            return try RGBImage(width: image.width, height: image.height, pixels: image.pixels)
        }
        var pixels = [UInt8](repeating: 0, count: image.pixels.count * 3)
        for (pixel, value) in image.pixels.enumerated() {
            pixels[3 * pixel] = value
            pixels[3 * pixel + 1] = value
            pixels[3 * pixel + 2] = value
        }
        return try RGBImage(width: image.width, height: image.height, pixels: pixels)
    }
}
