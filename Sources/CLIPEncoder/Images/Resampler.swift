/// Resizes 8-bit RGB images the way PIL's `Image.resize` does for mode "RGB", bit for bit.
///
/// The algorithm (a separable convolution resampler with antialiasing):
/// - Each output pixel `i` of an axis maps to the input centre `c = (i + 0.5) · s` with
///   `s = input / output`. When shrinking (`s > 1`) the kernel is stretched by `s`, so it
///   averages over every input pixel the output pixel covers (antialiasing); when enlarging
///   it keeps its own width.
/// - The taps are the input pixels `j` in `[round(c - support), round(c + support))`, clamped
///   to the image (rounding half up); tap `j` weighs `kernel((j + 0.5 - c) / max(s, 1))`, and
///   the weights are normalised to sum to 1.
/// - Weights become signed fixed-point integers with 22 fractional bits (rounded half away
///   from zero); each sum starts at one half (for rounding) and is shifted back and clamped
///   to 0...255.
/// - The first pass's result is rounded to 8 bits before the second pass; an axis whose size
///   does not change is skipped. Which pass runs first follows Pillow 13: the vertical one when
///   the height loses more than twice as many pixels as the width (`verticalPassFirst`),
///   otherwise the horizontal one, over only the rows the vertical pass reads.
public enum Resampler {
    /// Fractional bits of the fixed-point weights.
    static let precisionBits = 22

    /// Per-output-pixel taps of one axis.
    struct Taps {
        /// Taps per output pixel (the widest window); unused trailing weights are zero.
        let width: Int
        /// First input index of each output pixel's window.
        let starts: [Int]
        /// Number of input pixels in each output pixel's window.
        let counts: [Int]
        /// `output × width` fixed-point weights.
        let weights: [Int32]
    }

    /// The taps mapping `inputSize` pixels onto `outputSize` pixels.
    static func taps(inputSize: Int, outputSize: Int, filter: ResampleFilter) -> Taps {
        let scale = Double(inputSize) / Double(outputSize)
        let stretch = max(scale, 1)
        let support = filter.support * stretch
        let width = Int(support.rounded(.up)) * 2 + 1
        var starts = [Int](repeating: 0, count: outputSize)
        var counts = [Int](repeating: 0, count: outputSize)
        var weights = [Int32](repeating: 0, count: outputSize * width)
        var window = [Double](repeating: 0, count: width)
        let one = Double(1 << precisionBits)
        for output in 0..<outputSize {
            let centre = (Double(output) + 0.5) * scale
            // Truncation toward zero after adding one half: rounds the non-negative bounds
            // half up; negative starts are clamped to 0 anyway.
            let start = max(Int(centre - support + 0.5), 0)
            let end = min(Int(centre + support + 0.5), inputSize)
            let count = max(end - start, 0)
            var total = 0.0
            for tap in 0..<count {
                let weight = filter.weight((Double(tap + start) - centre + 0.5) / stretch)
                window[tap] = weight
                total += weight
            }
            for tap in 0..<count {
                let normalised = total != 0 ? window[tap] / total : window[tap]
                let scaled = normalised * one
                // Round half away from zero (truncate after adding ±0.5).
                weights[output * width + tap] = Int32(scaled < 0 ? scaled - 0.5 : scaled + 0.5)
            }
            starts[output] = start
            counts[output] = count
        }
        return Taps(width: width, starts: starts, counts: counts, weights: weights)
    }

    /// The fixed-point sum `accumulator` as a byte: shifted back, clamped to 0...255.
    @inline(__always)
    static func byte(_ accumulator: Int) -> UInt8 {
        let shifted = accumulator >> precisionBits
        return UInt8(clamping: shifted)
    }

    /// Whether Pillow (13 and later) runs the vertical pass before the horizontal one when
    /// resizing `inputWidth × inputHeight` to `outputWidth × outputHeight`: when the height
    /// shrinks, by more than twice as many pixels as the width loses (a width that grows counts
    /// as a negative loss). Both orders give images that differ by a few levels, because the
    /// intermediate image is rounded to 8 bits.
    public static func verticalPassFirst(
        inputWidth: Int, inputHeight: Int, outputWidth: Int, outputHeight: Int
    ) -> Bool {
        outputHeight < inputHeight && inputHeight - outputHeight > 2 * (inputWidth - outputWidth)
    }

    /// `image` resized to `width × height` with `filter`.
    /// A non-positive target size gives an image without pixels.
    public static func resize(_ image: RGBImage, width: Int, height: Int, filter: ResampleFilter) -> RGBImage {
        if width == image.width && height == image.height { return image }
        guard width > 0, height > 0 else {
            return RGBImage(checkedWidth: max(width, 0), height: max(height, 0), pixels: [])
        }
        let needsHorizontal = width != image.width
        let needsVertical = height != image.height
        let horizontalTaps = needsHorizontal ? taps(inputSize: image.width, outputSize: width, filter: filter) : nil
        let verticalTaps = needsVertical ? taps(inputSize: image.height, outputSize: height, filter: filter) : nil

        switch (horizontalTaps, verticalTaps) {
        case let (horizontal?, vertical?):
            if verticalPassFirst(
                inputWidth: image.width, inputHeight: image.height, outputWidth: width, outputHeight: height)
            {
                let columns = resampleColumns(image.pixels, width: image.width, taps: vertical, outputHeight: height)
                let rows = resampleRows(
                    columns, inputWidth: image.width, rows: 0..<height, taps: horizontal, outputWidth: width)
                return RGBImage(checkedWidth: width, height: height, pixels: rows)
            }
            // Only the rows some vertical window reads need a horizontal pass.
            let firstRow = vertical.starts[0]
            let lastRow = vertical.starts[height - 1] + vertical.counts[height - 1]
            let rows = resampleRows(
                image.pixels, inputWidth: image.width, rows: firstRow..<lastRow, taps: horizontal, outputWidth: width)
            let shifted = Taps(
                width: vertical.width, starts: vertical.starts.map { $0 - firstRow }, counts: vertical.counts,
                weights: vertical.weights)
            let columns = resampleColumns(rows, width: width, taps: shifted, outputHeight: height)
            return RGBImage(checkedWidth: width, height: height, pixels: columns)
        case let (horizontal?, nil):
            let rows = resampleRows(
                image.pixels, inputWidth: image.width, rows: 0..<image.height, taps: horizontal, outputWidth: width)
            return RGBImage(checkedWidth: width, height: height, pixels: rows)
        case let (nil, vertical?):
            let columns = resampleColumns(image.pixels, width: image.width, taps: vertical, outputHeight: height)
            return RGBImage(checkedWidth: width, height: height, pixels: columns)
        case (nil, nil):
            return image
        }
    }

    /// Horizontal pass over `rows` of an RGB image `inputWidth` wide.
    private static func resampleRows(
        _ input: [UInt8], inputWidth: Int, rows: Range<Int>, taps: Taps, outputWidth: Int
    ) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: rows.count * outputWidth * 3)
        let half = 1 << (precisionBits - 1)
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                taps.weights.withUnsafeBufferPointer { weights in
                    for (outputRow, row) in rows.enumerated() {
                        let rowBase = row * inputWidth * 3
                        for x in 0..<outputWidth {
                            var red = half, green = half, blue = half
                            let start = taps.starts[x]
                            for tap in 0..<taps.counts[x] {
                                let weight = Int(weights[x * taps.width + tap])
                                let offset = rowBase + (start + tap) * 3
                                red += Int(source[offset]) * weight
                                green += Int(source[offset + 1]) * weight
                                blue += Int(source[offset + 2]) * weight
                            }
                            let out = (outputRow * outputWidth + x) * 3
                            target[out] = byte(red)
                            target[out + 1] = byte(green)
                            target[out + 2] = byte(blue)
                        }
                    }
                }
            }
        }
        return output
    }

    /// Vertical pass over an RGB image `width` wide.
    private static func resampleColumns(_ input: [UInt8], width: Int, taps: Taps, outputHeight: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: outputHeight * width * 3)
        let half = 1 << (precisionBits - 1)
        let rowSize = width * 3
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                taps.weights.withUnsafeBufferPointer { weights in
                    for y in 0..<outputHeight {
                        let start = taps.starts[y]
                        let count = taps.counts[y]
                        for column in 0..<rowSize {
                            var sum = half
                            for tap in 0..<count {
                                sum += Int(source[(start + tap) * rowSize + column]) * Int(weights[y * taps.width + tap])
                            }
                            target[y * rowSize + column] = byte(sum)
                        }
                    }
                }
            }
        }
        return output
    }
}
