import Foundation

/// Turns images into the normalised tensors the vision tower reads, equal to the upstream
/// pipeline `configuration.pipeline` names (`PreprocessingPipeline`): OpenAI CLIP's and
/// open_clip's `Resize(shortestEdge, BICUBIC)`, `CenterCrop(cropSize)`, `convert("RGB")`,
/// `ToTensor()`, `Normalize(mean, std)` on the image as Pillow opens it (`openai`), or
/// transformers' processors, which convert to RGB first (`transformers-pil`, `transformers`).
///
/// - Resize: the shorter side becomes `shortestEdge` and the longer side
///   `Int(shortestEdge × longer / shorter)` (truncated), with `Resampler` (Pillow's
///   antialiasing bicubic resize, bit for bit; `ModeResampling` for the modes Pillow treats
///   apart) or `TorchvisionResampler` (`transformers`).
/// - Center crop: the pipeline's rule (`CenterCropRounding`), or `configuration.cropRounding`
///   when set; a side shorter than the crop is padded with black (with palette entry 0 for `P`
///   and white for `CMYK` in `openai`, as torchvision pads those modes with 0).
/// - Values: `byte / 255` then `(value − mean) / std` per channel, in `Float` like torch's
///   float32 arithmetic.
/// - Files: JPEGs are decoded at full size unless `configuration.jpegDecoding` is `draft`
///   (Pillow's `Image.draft` before the pipeline; `JPEGDecoding`).
public struct ImagePreprocessor: Sendable {
    /// Sizes, filter, mean and standard deviation.
    public let configuration: PreprocessorConfiguration
    /// Largest image decoded, in pixels.
    public let maximumPixelCount: Int
    /// `[3, 256]`: the normalised value of each byte in each channel.
    private let values: [Float]

    /// A preprocessor for `configuration`.
    public init(
        configuration: PreprocessorConfiguration = PreprocessorConfiguration(),
        maximumPixelCount: Int = ImageDecoder.defaultMaximumPixelCount
    ) {
        self.configuration = configuration
        self.maximumPixelCount = maximumPixelCount
        values = (0..<3).flatMap { channel in
            (0..<256).map { byte in
                (Float(byte) / 255 - configuration.imageMean[channel]) / configuration.imageStandardDeviation[channel]
            }
        }
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
            batch.append(contentsOf: try preprocess(file: file))
        }
        return batch
    }

    /// Decodes and preprocesses one image file.
    /// - Returns: `[3, cropSize, cropSize]` floats.
    /// - Throws: `CLIPEncoderError` naming the file.
    public func preprocess(file: URL) throws -> [Float] {
        preprocess(try ImageDecoder.decodeSource(
            file: file, maximumPixelCount: maximumPixelCount, draftSide: configuration.draftSide))
    }

    /// Preprocesses a decoded image in its own mode with the configured pipeline.
    /// - Returns: `[3, cropSize, cropSize]` floats.
    public func preprocess(_ source: SourceImage) -> [Float] {
        switch configuration.pipeline {
        case .openai:
            if source.mode == .rgb || source.mode == .grey { return preprocess(source.convertedToRGB()) }
            let crop = max(configuration.cropSize, 0)
            guard crop > 0 else { return [] }
            return normalised(cropped(source), at: (x: 0, y: 0), crop: crop)
        case .transformersPil, .transformers:
            return preprocess(source.convertedToRGBOverWhite())
        }
    }

    /// The `cropSize × cropSize` RGB bytes the pipeline makes of `source` before normalising:
    /// resized and cropped in the source's mode then converted (`openai`), or converted first.
    public func cropped(_ source: SourceImage) -> RGBImage {
        guard configuration.pipeline == .openai, source.mode != .rgb, source.mode != .grey else {
            let rgb = configuration.pipeline == .openai ? source.convertedToRGB() : source.convertedToRGBOverWhite()
            return centerCrop(resized(rgb))
        }
        let crop = max(configuration.cropSize, 0)
        let size = resizedSize(width: source.width, height: source.height)
        let rounding = configuration.effectiveCropRounding
        let left = rounding.offset(side: size.width, crop: crop)
        let top = rounding.offset(side: size.height, crop: crop)
        let columns = max(left, 0)..<min(left + crop, size.width)
        let rows = max(top, 0)..<min(top + crop, size.height)
        let kept = ModeResampling.resizedRGB(
            source, width: size.width, height: size.height, filter: configuration.resample, columns: columns, rows: rows)
        // torchvision pads with 0 in the image's mode: palette entry 0 for P, white for CMYK.
        let padding: [UInt8]
        switch source.mode {
        case .palette: padding = source.paletteZero
        case .cmyk: padding = [255, 255, 255]
        default: padding = [0, 0, 0]
        }
        var pixels = [UInt8](repeating: 0, count: crop * crop * 3)
        for pixel in 0..<(crop * crop) {
            pixels[3 * pixel] = padding[0]
            pixels[3 * pixel + 1] = padding[1]
            pixels[3 * pixel + 2] = padding[2]
        }
        let originX = columns.lowerBound - left, originY = rows.lowerBound - top
        for row in 0..<kept.height {
            let target = ((row + originY) * crop + originX) * 3
            let source = row * kept.width * 3
            pixels.replaceSubrange(target..<(target + kept.width * 3), with: kept.pixels[source..<(source + kept.width * 3)])
        }
        return RGBImage(checkedWidth: crop, height: crop, pixels: pixels)
    }

    /// Preprocesses an RGB image: `normalised(centerCrop(resized(image)))`, resizing only
    /// the pixels the crop keeps. The pipelines differ here only in the resize kernel
    /// (`transformers`: torchvision's) and the crop rule.
    /// - Returns: `[3, cropSize, cropSize]` floats.
    public func preprocess(_ image: RGBImage) -> [Float] {
        let crop = max(configuration.cropSize, 0)
        guard crop > 0 else { return [] }
        let size = resizedSize(of: image)
        let rounding = configuration.effectiveCropRounding
        let left = rounding.offset(side: size.width, crop: crop)
        let top = rounding.offset(side: size.height, crop: crop)
        let columns = max(left, 0)..<min(left + crop, size.width)
        let rows = max(top, 0)..<min(top + crop, size.height)
        let kept = resize(image, width: size.width, height: size.height, columns: columns, rows: rows)
        return normalised(kept, at: (x: columns.lowerBound - left, y: rows.lowerBound - top), crop: crop)
    }

    /// The part `columns × rows` of the RGB resize with the pipeline's kernel.
    private func resize(_ image: RGBImage, width: Int, height: Int, columns: Range<Int>, rows: Range<Int>) -> RGBImage {
        if configuration.pipeline == .transformers {
            return TorchvisionResampler.resize(image, width: width, height: height, columns: columns, rows: rows)
        }
        return Resampler.resize(image, width: width, height: height, filter: configuration.resample, columns: columns, rows: rows)
    }

    /// `image` with its shorter side resized to `shortestEdge` (`resizeMode` `shortest`), or
    /// resized to `cropSize × cropSize` (`squash`).
    public func resized(_ image: RGBImage) -> RGBImage {
        let size = resizedSize(of: image)
        return resize(image, width: size.width, height: size.height, columns: 0..<size.width, rows: 0..<size.height)
    }

    /// The size `image` is resized to before the crop: its shorter side `shortestEdge`
    /// (`resizeMode` `shortest`), or `cropSize × cropSize` (`squash`).
    func resizedSize(of image: RGBImage) -> (width: Int, height: Int) {
        resizedSize(width: image.width, height: image.height)
    }

    /// The size a `width × height` image is resized to before the crop.
    func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        switch configuration.resizeMode {
        case .shortest: return Self.resizedSize(width: width, height: height, shortestEdge: configuration.shortestEdge)
        case .squash: return (max(configuration.cropSize, 0), max(configuration.cropSize, 0))
        }
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
        let left = configuration.effectiveCropRounding.offset(side: image.width, crop: crop)
        let top = configuration.effectiveCropRounding.offset(side: image.height, crop: crop)
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

    /// `[3, crop, crop]` floats `(byte / 255 − mean) / std` of `image` placed with its top-left
    /// pixel at `at` in a black `crop × crop` square.
    func normalised(_ image: RGBImage, at origin: (x: Int, y: Int), crop: Int) -> [Float] {
        let planeSize = crop * crop
        return [Float](unsafeUninitializedCapacity: 3 * planeSize) { buffer, initialized in
            values.withUnsafeBufferPointer { values in
                image.pixels.withUnsafeBufferPointer { pixels in
                    guard let output = buffer.baseAddress, let table = values.baseAddress else { return }
                    for channel in 0..<3 {
                        let black = table[channel * 256]
                        let plane = output + channel * planeSize
                        plane.initialize(repeating: black, count: planeSize)
                        guard let source = pixels.baseAddress else { continue }
                        let channelTable = table + channel * 256
                        for row in 0..<image.height {
                            let sourceRow = source + row * image.width * 3 + channel
                            let targetRow = plane + (row + origin.y) * crop + origin.x
                            for column in 0..<image.width {
                                targetRow[column] = channelTable[Int(sourceRow[column * 3])]
                            }
                        }
                    }
                }
            }
            initialized = 3 * planeSize
        }
    }
}
