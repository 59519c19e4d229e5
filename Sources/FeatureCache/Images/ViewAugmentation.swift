import CLIPEncoder
import Compute
import Datasets
import Foundation
import Support

/// CLIP-style augmented views (Tip-Adapter's training views): a random resized crop squeezed
/// to the model's square input, then a horizontal flip with probability one half, each view
/// reproducible from `(seed, item index, view index)`.
///
/// Sampling follows torchvision's `RandomResizedCrop.get_params`: up to ten attempts draw an
/// area fraction `uniform(scale)` of the image and an aspect ratio `exp(uniform(log ratio))`;
/// `w = round(√(area · ratio))`, `h = round(√(area / ratio))` (ties to even); the first
/// attempt with `0 < w ≤ width` and `0 < h ≤ height` picks `top = ⌊u · (height − h + 1)⌋` and
/// `left = ⌊u · (width − w + 1)⌋`. When every attempt fails, the centre crop of the image
/// clamped to the ratio range is used. The crop is resized to `outputSize × outputSize` with
/// `Resampler` (CLIP's bicubic resampler) and then flipped when the next draw is below one half.
///
/// Random numbers: a SplitMix64 stream (`SeededGenerator`) whose state is
/// `h(h(h(seed) ⊕ index) ⊕ view)`, `h(x)` being the first SplitMix64 output of state `x`;
/// each uniform number is `(draw >> 11) · 2⁻⁵³`. Draw order: (area, ratio) per attempt, then
/// top, left, and the flip.
public struct ViewAugmentation: Sendable, Equatable {
    /// Seed shared by every view of a run.
    public var seed: UInt64
    /// Side of the square output (the model's `image_size`).
    public var outputSize: Int
    /// Range of the crop's area as a fraction of the image's.
    public var scale: ClosedRange<Double> = 0.5...1
    /// Range of the crop's width / height.
    public var ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)
    /// Probability of a horizontal flip.
    public var flipProbability: Double = 0.5

    /// Views of `outputSize × outputSize` pixels drawn from `seed`.
    public init(seed: UInt64, outputSize: Int) {
        self.seed = seed
        self.outputSize = outputSize
    }

    /// A text naming every setting, for cache keys.
    public var identifier: String {
        "rrc(seed=\(seed),size=\(outputSize),scale=\(formatNumber(scale.lowerBound))-\(formatNumber(scale.upperBound)),"
            + "ratio=\(formatNumber(ratio.lowerBound))-\(formatNumber(ratio.upperBound)),flip=\(formatNumber(flipProbability)))"
    }

    /// The crop window and flip of one view of an image of `width × height`.
    public struct Placement: Sendable, Equatable {
        /// First column of the crop.
        public var left: Int
        /// First row of the crop.
        public var top: Int
        /// Crop width in pixels.
        public var width: Int
        /// Crop height in pixels.
        public var height: Int
        /// Whether the resized crop is mirrored left to right.
        public var flipped: Bool
    }

    /// Where view `view` of item `index` crops an image of `width × height`.
    public func placement(width: Int, height: Int, index: Int, view: Int) -> Placement {
        var generator = SeededGenerator(seed: Self.streamState(seed: seed, index: index, view: view))
        func uniform() -> Double { ShiftNoise.unit(generator.next()) }
        let area = Double(width * height)
        let logLow = log(ratio.lowerBound), logHigh = log(ratio.upperBound)
        var window: (left: Int, top: Int, width: Int, height: Int)?
        for _ in 0..<10 where window == nil {
            let targetArea = area * (scale.lowerBound + (scale.upperBound - scale.lowerBound) * uniform())
            let aspect = exp(logLow + (logHigh - logLow) * uniform())
            let cropWidth = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let cropHeight = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            guard cropWidth > 0, cropWidth <= width, cropHeight > 0, cropHeight <= height else { continue }
            let top = min(Int(uniform() * Double(height - cropHeight + 1)), height - cropHeight)
            let left = min(Int(uniform() * Double(width - cropWidth + 1)), width - cropWidth)
            window = (left, top, cropWidth, cropHeight)
        }
        let chosen = window ?? centreWindow(width: width, height: height)
        let flipped = uniform() < flipProbability
        return Placement(left: chosen.left, top: chosen.top, width: chosen.width, height: chosen.height, flipped: flipped)
    }

    /// torchvision's fallback: the whole image, narrowed to the nearest allowed ratio, centred.
    private func centreWindow(width: Int, height: Int) -> (left: Int, top: Int, width: Int, height: Int) {
        let inputRatio = Double(width) / Double(height)
        var cropWidth = width, cropHeight = height
        if inputRatio < ratio.lowerBound {
            cropHeight = Int((Double(width) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inputRatio > ratio.upperBound {
            cropWidth = Int((Double(height) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        cropWidth = min(max(cropWidth, 1), width)
        cropHeight = min(max(cropHeight, 1), height)
        return ((width - cropWidth) / 2, (height - cropHeight) / 2, cropWidth, cropHeight)
    }

    /// View `view` of item `index`: `image` cropped, resized to `outputSize × outputSize`, maybe flipped.
    /// - Throws: `FeatureCacheError.invalidImage` when `outputSize` is not positive.
    public func apply(to image: RGBImage, index: Int, view: Int) throws -> RGBImage {
        guard outputSize > 0 else {
            throw FeatureCacheError.invalidImage(item: "item \(index)", reason: "augmented view size \(outputSize) is not positive")
        }
        let place = placement(width: image.width, height: image.height, index: index, view: view)
        var cropped = [UInt8](repeating: 0, count: place.width * place.height * 3)
        for row in 0..<place.height {
            let source = ((place.top + row) * image.width + place.left) * 3
            cropped.replaceSubrange(
                (row * place.width * 3)..<((row + 1) * place.width * 3),
                with: image.pixels[source..<(source + place.width * 3)])
        }
        let crop = try RGBImage(width: place.width, height: place.height, pixels: cropped)
        let resized = Resampler.resize(crop, width: outputSize, height: outputSize, filter: .bicubic)
        return place.flipped ? try Self.mirrored(resized) : resized
    }

    /// `image` mirrored left to right.
    static func mirrored(_ image: RGBImage) throws -> RGBImage {
        var pixels = image.pixels
        for row in 0..<image.height {
            for column in 0..<image.width {
                let source = (row * image.width + (image.width - 1 - column)) * 3
                let target = (row * image.width + column) * 3
                pixels[target] = image.pixels[source]
                pixels[target + 1] = image.pixels[source + 1]
                pixels[target + 2] = image.pixels[source + 2]
            }
        }
        return try RGBImage(width: image.width, height: image.height, pixels: pixels)
    }

    /// `h(h(h(seed) ⊕ index) ⊕ view)` with `h(x)` the first SplitMix64 output of state `x`.
    static func streamState(seed: UInt64, index: Int, view: Int) -> UInt64 {
        func scramble(_ value: UInt64) -> UInt64 {
            var generator = SeededGenerator(seed: value)
            return generator.next()
        }
        return scramble(scramble(scramble(seed) ^ UInt64(truncatingIfNeeded: index)) ^ UInt64(truncatingIfNeeded: view))
    }
}
