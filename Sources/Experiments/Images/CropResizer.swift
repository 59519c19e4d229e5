import CLIPEncoder

/// Resizes RGB images to any width and height with the bicubic resampler of CLIP's
/// preprocessing (PIL's antialiasing `Image.resize(..., BICUBIC)`), for augmented views whose
/// crops are squeezed to a square as torchvision's `RandomResizedCrop` does.
///
/// The arithmetic is the one `ImagePreprocessor.resized(_:)` uses, so both give the same bytes
/// for the same target size: per axis, output pixel `i` has centre `c = (i + 0.5) · s`,
/// `s = input / output`; the kernel (Keys cubic, a = −0.5, support 2) is stretched by
/// `max(s, 1)`; taps `j ∈ [⌊c − support + 0.5⌋, ⌊c + support + 0.5⌋)` clamped to the image
/// weigh `kernel((j + 0.5 − c) / max(s, 1))`, normalised to sum 1 and stored as fixed point
/// with 22 fractional bits (rounded half away from zero); sums start at 2²¹ and are shifted
/// back and clamped to 0...255. Rows are resampled first, rounded to bytes, then columns; an
/// axis whose size does not change is left alone.
enum CropResizer {
    /// Fractional bits of the fixed-point weights.
    private static let precisionBits = 22

    /// One axis's taps: for output pixel `i`, `counts[i]` weights from input `starts[i]`.
    private struct AxisTaps {
        var starts: [Int]
        var counts: [Int]
        var stride: Int
        var weights: [Int]
    }

    /// `image` resized to `width × height` (both positive).
    static func resize(_ image: RGBImage, width: Int, height: Int) throws -> RGBImage {
        var pixels = image.pixels
        if width != image.width {
            pixels = resampleRows(pixels, width: image.width, height: image.height, taps: taps(from: image.width, to: width))
        }
        if height != image.height {
            pixels = resampleColumns(pixels, rowBytes: width * 3, taps: taps(from: image.height, to: height), outputHeight: height)
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Keys cubic convolution kernel, a = −0.5.
    private static func cubic(_ x: Double) -> Double {
        let distance = abs(x), a = -0.5
        if distance < 1 { return ((a + 2) * distance - (a + 3)) * distance * distance + 1 }
        if distance < 2 { return (((distance - 5) * distance + 8) * distance - 4) * a }
        return 0
    }

    private static func taps(from inputSize: Int, to outputSize: Int) -> AxisTaps {
        let scale = Double(inputSize) / Double(outputSize)
        let stretch = max(scale, 1)
        let support = 2 * stretch
        let stride = Int(support.rounded(.up)) * 2 + 1
        var result = AxisTaps(
            starts: .init(repeating: 0, count: outputSize), counts: .init(repeating: 0, count: outputSize),
            stride: stride, weights: .init(repeating: 0, count: outputSize * stride))
        let one = Double(1 << precisionBits)
        var window = [Double](repeating: 0, count: stride)
        for output in 0..<outputSize {
            let centre = (Double(output) + 0.5) * scale
            let start = max(Int(centre - support + 0.5), 0)
            let count = max(min(Int(centre + support + 0.5), inputSize) - start, 0)
            var total = 0.0
            for tap in 0..<count {
                window[tap] = cubic((Double(tap + start) - centre + 0.5) / stretch)
                total += window[tap]
            }
            for tap in 0..<count {
                let scaled = (total != 0 ? window[tap] / total : window[tap]) * one
                result.weights[output * stride + tap] = Int(scaled < 0 ? scaled - 0.5 : scaled + 0.5)
            }
            result.starts[output] = start
            result.counts[output] = count
        }
        return result
    }

    @inline(__always)
    private static func byte(_ sum: Int) -> UInt8 { UInt8(clamping: sum >> precisionBits) }

    private static func resampleRows(_ input: [UInt8], width: Int, height: Int, taps: AxisTaps) -> [UInt8] {
        let outputWidth = taps.starts.count
        var output = [UInt8](repeating: 0, count: height * outputWidth * 3)
        let half = 1 << (precisionBits - 1)
        for row in 0..<height {
            for x in 0..<outputWidth {
                var sums = (half, half, half)
                for tap in 0..<taps.counts[x] {
                    let weight = taps.weights[x * taps.stride + tap]
                    let source = (row * width + taps.starts[x] + tap) * 3
                    sums.0 += Int(input[source]) * weight
                    sums.1 += Int(input[source + 1]) * weight
                    sums.2 += Int(input[source + 2]) * weight
                }
                let target = (row * outputWidth + x) * 3
                output[target] = byte(sums.0)
                output[target + 1] = byte(sums.1)
                output[target + 2] = byte(sums.2)
            }
        }
        return output
    }

    private static func resampleColumns(_ input: [UInt8], rowBytes: Int, taps: AxisTaps, outputHeight: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: outputHeight * rowBytes)
        let half = 1 << (precisionBits - 1)
        for y in 0..<outputHeight {
            for offset in 0..<rowBytes {
                var sum = half
                for tap in 0..<taps.counts[y] {
                    sum += Int(input[(taps.starts[y] + tap) * rowBytes + offset]) * taps.weights[y * taps.stride + tap]
                }
                output[y * rowBytes + offset] = byte(sum)
            }
        }
        return output
    }
}
