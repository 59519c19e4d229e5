import Foundation

/// Turns images into the normalised tensors the vision tower reads, matching OpenAI CLIP's
/// torchvision pipeline on an RGB PIL image:
/// `Resize(shortestEdge, BICUBIC)`, `CenterCrop(cropSize)`, `ToTensor()`, `Normalize(mean, std)`.
///
/// - Resize: the shorter side becomes `shortestEdge` and the longer side
///   `Int(shortestEdge × longer / shorter)` (truncated), with `Resampler`, which reproduces
///   PIL's antialiasing bicubic resize bit for bit.
/// - Center crop: offsets `round((side − crop) / 2)` with ties to even (Python's `round`);
///   a side shorter than the crop is first padded with black, `(crop − side) / 2` pixels
///   before (rounded down) and the rest after.
/// - Values: `byte / 255` then `(value − mean) / std` per channel, in `Float` like torch's
///   float32 arithmetic.
public struct ImagePreprocessor: Sendable {
    /// Sizes, filter, mean and standard deviation.
    public let configuration: PreprocessorConfiguration
    /// Largest image decoded, in pixels.
    public let maximumPixelCount: Int

    /// A preprocessor for `configuration`.
    public init(
        configuration: PreprocessorConfiguration = PreprocessorConfiguration(),
        maximumPixelCount: Int = ImageDecoder.defaultMaximumPixelCount
    ) {
        self.configuration = configuration
        self.maximumPixelCount = maximumPixelCount
    }

    /// Elements of one preprocessed image: `3 × cropSize × cropSize` (0 for a non-positive
    /// crop size, which yields empty results rather than a crash).
    public var elementsPerImage: Int { 3 * max(configuration.cropSize, 0) * max(configuration.cropSize, 0) }

    /// Decodes and preprocesses the image files, in order.
    /// - Returns: `[batch, 3, cropSize, cropSize]` floats, channel-major per image.
    /// - Throws: the first decoding error (`CLIPEncoderError`, naming the file).
    public func preprocess(files: [URL]) throws -> [Float] {
        var batch: [Float] = []
        batch.reserveCapacity(files.count * elementsPerImage)
        for file in files {
            let image = try ImageDecoder.decode(file: file, maximumPixelCount: maximumPixelCount)
            batch.append(contentsOf: preprocess(image))
        }
        return batch
    }

    /// Decodes and preprocesses one image file.
    /// - Returns: `[3, cropSize, cropSize]` floats.
    /// - Throws: `CLIPEncoderError` naming the file.
    public func preprocess(file: URL) throws -> [Float] {
        preprocess(try ImageDecoder.decode(file: file, maximumPixelCount: maximumPixelCount))
    }

    /// Preprocesses a decoded image.
    /// - Returns: `[3, cropSize, cropSize]` floats.
    public func preprocess(_ image: RGBImage) -> [Float] {
        let cropped = centerCrop(resized(image))
        return normalised(cropped)
    }

    /// `image` with its shorter side resized to `shortestEdge` (`resizeMode` `shortest`), or
    /// resized to `cropSize × cropSize` (`squash`).
    public func resized(_ image: RGBImage) -> RGBImage {
        if configuration.resizeMode == .squash {
            return Resampler.resize(image, width: configuration.cropSize, height: configuration.cropSize, filter: configuration.resample)
        }
        let size = Self.resizedSize(width: image.width, height: image.height, shortestEdge: configuration.shortestEdge)
        return Resampler.resize(image, width: size.width, height: size.height, filter: configuration.resample)
    }

    /// The size an image of `width × height` takes when its shorter side becomes
    /// `shortestEdge`: the longer side is `Int(shortestEdge × longer / shorter)`.
    public static func resizedSize(width: Int, height: Int, shortestEdge: Int) -> (width: Int, height: Int) {
        let shorter = min(width, height)
        guard shorter > 0 else { return (0, 0) }
        let longer = max(width, height)
        // Same correctly rounded double quotient as Python's `int * int / int`, then truncated.
        let newLonger = Int(Double(shortestEdge * longer) / Double(shorter))
        return width <= height ? (shortestEdge, newLonger) : (newLonger, shortestEdge)
    }

    /// The center `cropSize × cropSize` square of `image`, padding with black where the image
    /// is smaller.
    public func centerCrop(_ image: RGBImage) -> RGBImage {
        let crop = max(configuration.cropSize, 0)
        let left = Self.cropOffset(side: image.width, crop: crop)
        let top = Self.cropOffset(side: image.height, crop: crop)
        var pixels = [UInt8](repeating: 0, count: crop * crop * 3)
        for y in 0..<crop {
            let sourceY = y + top
            guard sourceY >= 0, sourceY < image.height else { continue }
            for x in 0..<crop {
                let sourceX = x + left
                guard sourceX >= 0, sourceX < image.width else { continue }
                let source = (sourceY * image.width + sourceX) * 3
                let target = (y * crop + x) * 3
                pixels[target] = image.pixels[source]
                pixels[target + 1] = image.pixels[source + 1]
                pixels[target + 2] = image.pixels[source + 2]
            }
        }
        return RGBImage(checkedWidth: crop, height: crop, pixels: pixels)
    }

    /// Offset of the crop window along a side: `round((side − crop) / 2)` with ties to even
    /// when the side is long enough; otherwise minus the padding placed before the image,
    /// `(crop − side) / 2` rounded down.
    static func cropOffset(side: Int, crop: Int) -> Int {
        if side >= crop {
            return Int((Double(side - crop) / 2).rounded(.toNearestOrEven))
        }
        return -((crop - side) / 2)
    }

    /// `[3, height, width]` floats `(byte / 255 − mean) / std` of a cropped image.
    func normalised(_ image: RGBImage) -> [Float] {
        let planeSize = image.width * image.height
        var values = [Float](repeating: 0, count: 3 * planeSize)
        for channel in 0..<3 {
            let mean = configuration.imageMean[channel]
            let deviation = configuration.imageStandardDeviation[channel]
            for pixel in 0..<planeSize {
                let scaled = Float(image.pixels[3 * pixel + channel]) / 255
                values[channel * planeSize + pixel] = (scaled - mean) / deviation
            }
        }
        return values
    }
}
