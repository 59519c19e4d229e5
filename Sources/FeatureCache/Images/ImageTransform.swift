import Datasets
import Foundation
import Support

/// A deterministic image transformation (the `dataset.transform` of a configuration), applied
/// to 8-bit grey or RGB pixels after decoding and before CLIP's preprocessing.
///
/// The formulas (see docs/feature-cache.md) reproduce the test-time shifts of
/// `scripts/demo_shifts.py` byte for byte on grey images. Notation: `x = byte / 255` (one
/// rounded `Double` division), `quantise(y) = floor(min(max(y, 0), 1) · 255 + 0.5)`, borders
/// clamp coordinates to the image, and `n` is the image's `ShiftNoise` sample for that byte
/// (sample `q` for byte `q` of the row-major, channel-interleaved pixel array). On RGB images
/// every channel is treated as a plane of its own, except `edges`, which works on the grey
/// value.
public enum ImageTransform: Sendable, Equatable, CustomStringConvertible {
    /// The image unchanged (`clean`, `identity`, `none`).
    case identity
    /// `255 − byte` (`inversion`, `invert`).
    case inversion
    /// `quantise(offset − slope · x)` (`contrast_inversion`; defaults 0.7 and 0.4).
    case contrastInversion(offset: Double, slope: Double)
    /// `quantise((1 − amount) · x + amount · (1 − x))` (`partial_invert`).
    case partialInversion(amount: Double)
    /// `quantise(blur(x) + noise · n)` (`blur_noise`; defaults: 5-tap binomial blur, noise 0.15, seed 1).
    case blurNoise(blur: Blur, noise: Double, seed: UInt64)
    /// Sobel gradient magnitude of the grey value divided by its image maximum, quantised (`edges`).
    case edges
    /// `quantise((offset + factor · x) + noise · n)` (`low_contrast_noise`, `low_contrast`;
    /// defaults offset 0, factor 0.4, noise 0.1, seed 2).
    case lowContrastNoise(offset: Double, factor: Double, noise: Double, seed: UInt64)
    /// `byte < threshold ? byte : 255 − byte` (`solarize`; default threshold 128).
    case solarize(threshold: Int)
    /// A square of side `round(size · min(width, height))` set to `fill`, at a position drawn
    /// per image (`cutout`; defaults size 0.5, fill 0, seed 3).
    case cutout(size: Double, fill: Int, seed: UInt64)
    /// Each `block × block` tile replaced by its mean, rounded half up (`pixelate`; default block 4).
    case pixelate(block: Int)
    /// Each byte replaced by 0 with probability `amount / 2`, by 255 with probability `amount / 2`
    /// (`salt_pepper`; defaults amount 0.2, seed 4).
    case saltPepper(amount: Double, seed: UInt64)

    /// The smoothing of `blurNoise`.
    public enum Blur: Sendable, Equatable {
        /// Separable binomial taps `[1, 4, 6, 4, 1]` (a Gaussian of σ ≈ 1), exact integer sums
        /// `B ∈ [0, 65280]`, then `B / 65280`.
        case binomial
        /// Separable sampled Gaussian `exp(−k² / (2σ²))`, `k ∈ [−⌈3σ⌉, ⌈3σ⌉]`, normalised to sum 1.
        case gaussian(sigma: Double)
    }

    /// The transform a configuration names.
    /// - Throws: `FeatureCacheError.invalidTransform` for an unknown name, an unknown parameter
    ///   or a value out of range.
    public init(_ spec: ImageTransformSpec) throws {
        var reader = ParameterReader(spec: spec)
        switch spec.name {
        case "clean", "identity", "none":
            self = .identity
        case "inversion", "invert":
            self = .inversion
        case "contrast_inversion":
            self = .contrastInversion(
                offset: try reader.number("offset", default: 0.7), slope: try reader.number("slope", default: 0.4))
        case "partial_invert", "partial_inversion":
            self = .partialInversion(amount: try reader.number("amount", default: 0.7, range: 0...1))
        case "blur_noise":
            let noise = try reader.number("noise", default: 0.15, range: 0...Double.greatestFiniteMagnitude)
            let seed = try reader.seed(default: 1)
            if reader.has("sigma") {
                let sigma = try reader.number("sigma", default: 1, range: 0...64)
                self = .blurNoise(blur: .gaussian(sigma: sigma), noise: noise, seed: seed)
            } else {
                self = .blurNoise(blur: .binomial, noise: noise, seed: seed)
            }
        case "edges":
            self = .edges
        case "solarize":
            self = .solarize(threshold: Int(try reader.number("threshold", default: 128, range: 0...256)))
        case "cutout":
            self = .cutout(
                size: try reader.number("size", default: 0.5, range: 0...1),
                fill: Int(try reader.number("fill", default: 0, range: 0...255)), seed: try reader.seed(default: 3))
        case "pixelate":
            self = .pixelate(block: Int(try reader.number("block", default: 4, range: 1...64)))
        case "salt_pepper":
            self = .saltPepper(amount: try reader.number("amount", default: 0.2, range: 0...1), seed: try reader.seed(default: 4))
        case "low_contrast_noise", "low_contrast":
            self = .lowContrastNoise(
                offset: try reader.number("offset", default: 0),
                factor: try reader.number("factor", default: 0.4),
                noise: try reader.number("noise", default: 0.1, range: 0...Double.greatestFiniteMagnitude),
                seed: try reader.seed(default: 2))
        default:
            throw FeatureCacheError.invalidTransform(
                transform: spec.description,
                reason: "unknown name; known: " + Self.knownNames.joined(separator: ", "))
        }
        try reader.finish()
    }

    /// Names `init(_:)` accepts.
    public static let knownNames = [
        "clean", "identity", "none", "inversion", "invert", "contrast_inversion", "partial_invert",
        "partial_inversion", "blur_noise", "edges", "low_contrast_noise", "low_contrast", "solarize",
        "cutout", "pixelate", "salt_pepper",
    ]

    /// A canonical text with every parameter spelled out, for cache keys and reports.
    public var description: String {
        func number(_ value: Double) -> String { formatNumber(value) }
        switch self {
        case .identity: return "identity"
        case .inversion: return "inversion"
        case .contrastInversion(let offset, let slope):
            return "contrast_inversion(offset=\(number(offset)),slope=\(number(slope)))"
        case .partialInversion(let amount):
            return "partial_invert(amount=\(number(amount)))"
        case .blurNoise(let blur, let noise, let seed):
            switch blur {
            case .binomial: return "blur_noise(blur=binomial5,noise=\(number(noise)),seed=\(seed))"
            case .gaussian(let sigma):
                return "blur_noise(noise=\(number(noise)),seed=\(seed),sigma=\(number(sigma)))"
            }
        case .edges: return "edges"
        case .lowContrastNoise(let offset, let factor, let noise, let seed):
            return "low_contrast_noise(factor=\(number(factor)),noise=\(number(noise)),offset=\(number(offset)),seed=\(seed))"
        case .solarize(let threshold):
            return "solarize(threshold=\(threshold))"
        case .cutout(let size, let fill, let seed):
            return "cutout(fill=\(fill),seed=\(seed),size=\(number(size)))"
        case .pixelate(let block):
            return "pixelate(block=\(block))"
        case .saltPepper(let amount, let seed):
            return "salt_pepper(amount=\(number(amount)),seed=\(seed))"
        }
    }

    /// Whether the result depends on the item's index (it draws noise).
    public var usesNoise: Bool {
        switch self {
        case .blurNoise(_, let noise, _), .lowContrastNoise(_, _, let noise, _): return noise != 0
        case .cutout(let size, _, _): return size > 0
        case .saltPepper(let amount, _): return amount > 0
        default: return false
        }
    }

    /// `image` transformed; `index` (the item's position in its split) selects the noise stream.
    /// - Returns: an image of the same size and channel count.
    /// - Precondition: `image.pixels.count == width · height · channels` (checked by the caller).
    public func apply(to image: InMemoryImage, index: Int) -> InMemoryImage {
        var result = image
        switch self {
        case .identity:
            break
        case .inversion:
            result.pixels = image.pixels.map { 255 - $0 }
        case .contrastInversion(let offset, let slope):
            result.pixels = image.pixels.map { byte in PixelMath.quantise(offset - slope * PixelMath.unit(byte)) }
        case .partialInversion(let amount):
            result.pixels = image.pixels.map { byte in
                let x = PixelMath.unit(byte)
                return PixelMath.quantise((1 - amount) * x + amount * (1 - x))
            }
        case .blurNoise(let blur, let noise, let seed):
            let smoothed: [Double]
            switch blur {
            case .binomial: smoothed = PixelFilters.binomialBlur(image)
            case .gaussian(let sigma): smoothed = PixelFilters.gaussianBlur(image, sigma: sigma)
            }
            let samples = ShiftNoise.samples(seed: seed, index: index, count: smoothed.count)
            result.pixels = (0..<smoothed.count).map { q in PixelMath.quantise(smoothed[q] + noise * samples[q]) }
        case .edges:
            result.pixels = PixelFilters.sobelEdges(image)
        case .solarize(let threshold):
            result.pixels = image.pixels.map { Int($0) < threshold ? $0 : 255 - $0 }
        case .cutout(let size, let fill, let seed):
            result.pixels = PixelFilters.cutout(image, size: size, fill: UInt8(fill), seed: seed, index: index)
        case .pixelate(let block):
            result.pixels = PixelFilters.pixelate(image, block: block)
        case .saltPepper(let amount, let seed):
            let draws = ShiftNoise.uniforms(seed: seed, index: index, count: image.pixels.count)
            result.pixels = (0..<image.pixels.count).map { q in
                draws[q] < amount / 2 ? 0 : (draws[q] < amount ? 255 : image.pixels[q])
            }
        case .lowContrastNoise(let offset, let factor, let noise, let seed):
            let samples = ShiftNoise.samples(seed: seed, index: index, count: image.pixels.count)
            result.pixels = (0..<image.pixels.count).map { q in
                PixelMath.quantise((offset + factor * PixelMath.unit(image.pixels[q])) + noise * samples[q])
            }
        }
        return result
    }
}

/// Reads the numeric parameters of an `ImageTransformSpec`, remembering which were used.
private struct ParameterReader {
    let spec: ImageTransformSpec
    var used: Set<String> = []

    init(spec: ImageTransformSpec) { self.spec = spec }

    func has(_ name: String) -> Bool { spec.parameters[name] != nil }

    mutating func number(_ name: String, default defaultValue: Double, range: ClosedRange<Double>? = nil) throws -> Double {
        used.insert(name)
        guard let value = spec.parameters[name] else { return defaultValue }
        guard value.isFinite else { throw failure("parameter '\(name)' must be finite, got \(value)") }
        if let range, !range.contains(value) {
            throw failure("parameter '\(name)' must lie in \(formatNumber(range.lowerBound))...\(formatNumber(range.upperBound)), got \(formatNumber(value))")
        }
        return value
    }

    mutating func seed(default defaultValue: UInt64) throws -> UInt64 {
        used.insert("seed")
        guard let value = spec.parameters["seed"] else { return defaultValue }
        guard value >= 0, value <= 4_294_967_295, value.rounded() == value else {
            throw failure("parameter 'seed' must be a whole number in 0...4294967295, got \(value)")
        }
        return UInt64(value)
    }

    func finish() throws {
        let unknown = spec.parameters.keys.filter { !used.contains($0) }.sorted()
        guard unknown.isEmpty else {
            let accepted = used.isEmpty ? "none" : used.sorted().joined(separator: ", ")
            throw failure("unknown parameter(s) \(unknown.joined(separator: ", ")); accepted: \(accepted)")
        }
    }

    func failure(_ reason: String) -> FeatureCacheError {
        .invalidTransform(transform: spec.description, reason: reason)
    }
}
