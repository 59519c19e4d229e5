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
///   otherwise the horizontal one.
///
/// Only the output pixels asked for are computed (`resize(_:width:height:filter:columns:rows:)`),
/// and the first pass only over the input rows or columns the second one reads: each output
/// pixel depends on its own windows only, so a part of the resize equals the same part of the
/// full resize. The passes (`ResamplePasses`) sum 32-bit products as Pillow's `int` sums do,
/// the vertical one a whole row at a time; `ReferenceResampler` is their plain-loop twin.
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
        /// Fractional bits of the weights: Pillow's 22, or torchvision's per-axis precision.
        var precisionBits: Int = Resampler.precisionBits

        /// The taps of the outputs in `outputs` only, with every window start moved back by
        /// `shift` (the first input index the pass will hold).
        func restricted(to outputs: Range<Int>, shift: Int) -> Taps {
            Taps(
                width: width, starts: starts[outputs].map { $0 - shift }, counts: Array(counts[outputs]),
                weights: Array(weights[(outputs.lowerBound * width)..<(outputs.upperBound * width)]),
                precisionBits: precisionBits)
        }

        /// The input indices the windows of `outputs` read: from the first window's start to
        /// the last window's end (windows move forward with the output index).
        func inputSpan(of outputs: Range<Int>) -> Range<Int> {
            guard let first = outputs.first, let last = outputs.last else { return 0..<0 }
            return starts[first]..<(starts[last] + counts[last])
        }
    }

    /// The taps mapping `inputSize` pixels onto `outputSize` pixels.
    static func taps(inputSize: Int, outputSize: Int, filter: ResampleFilter) -> Taps {
        let real = realTaps(inputSize: inputSize, outputSize: outputSize, filter: filter)
        let one = Double(1 << precisionBits)
        let weights = real.weights.map { normalised -> Int32 in
            let scaled = normalised * one
            // Round half away from zero (truncate after adding ±0.5).
            return Int32(scaled < 0 ? scaled - 0.5 : scaled + 0.5)
        }
        return Taps(width: real.width, starts: real.starts, counts: real.counts, weights: weights)
    }

    /// Taps with Pillow's normalised `double` weights (`precompute_coeffs`), before the
    /// conversion to fixed point: what Pillow's 16- and 32-bit resamplers use directly.
    struct RealTaps {
        /// Taps per output pixel (the widest window); unused trailing weights are zero.
        let width: Int
        /// First input index of each output pixel's window.
        let starts: [Int]
        /// Number of input pixels in each output pixel's window.
        let counts: [Int]
        /// `output × width` weights summing to 1 per output.
        let weights: [Double]
    }

    /// The normalised weights mapping `inputSize` pixels onto `outputSize` pixels.
    static func realTaps(inputSize: Int, outputSize: Int, filter: ResampleFilter) -> RealTaps {
        let scale = Double(inputSize) / Double(outputSize)
        let stretch = max(scale, 1)
        let support = filter.support * stretch
        let width = Int(support.rounded(.up)) * 2 + 1
        var starts = [Int](repeating: 0, count: outputSize)
        var counts = [Int](repeating: 0, count: outputSize)
        var weights = [Double](repeating: 0, count: outputSize * width)
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
                weights[output * width + tap] = weight
                total += weight
            }
            if total != 0 {
                for tap in 0..<count { weights[output * width + tap] /= total }
            }
            starts[output] = start
            counts[output] = count
        }
        return RealTaps(width: width, starts: starts, counts: counts, weights: weights)
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
        resize(image, width: width, height: height, filter: filter, columns: 0..<max(width, 0), rows: 0..<max(height, 0))
    }

    /// The part `columns × rows` of `image` resized to `width × height` with `filter`: the same
    /// bytes as cropping the full resize there, computing only those pixels.
    /// - Precondition: `columns` lies within `0..<width` and `rows` within `0..<height`.
    /// - Returns: an image `columns.count × rows.count` (without pixels when either is empty).
    public static func resize(
        _ image: RGBImage, width: Int, height: Int, filter: ResampleFilter, columns: Range<Int>, rows: Range<Int>
    ) -> RGBImage {
        let horizontal = width != image.width
            ? taps(inputSize: image.width, outputSize: width, filter: filter) : nil
        let vertical = height != image.height
            ? taps(inputSize: image.height, outputSize: height, filter: filter) : nil
        let verticalFirst = verticalPassFirst(
            inputWidth: image.width, inputHeight: image.height, outputWidth: width, outputHeight: height)
        return resize(
            image, width: width, height: height, horizontal: horizontal, vertical: vertical, verticalFirst: verticalFirst,
            columns: columns, rows: rows)
    }

    /// The part `columns × rows` of `image` resized to `width × height` with the given taps (nil
    /// for an axis whose size does not change), the vertical pass first when `verticalFirst`.
    /// - Precondition: `columns` lies within `0..<width` and `rows` within `0..<height`.
    static func resize(
        _ image: RGBImage, width: Int, height: Int, horizontal: Taps?, vertical: Taps?, verticalFirst: Bool,
        columns: Range<Int>, rows: Range<Int>
    ) -> RGBImage {
        precondition(columns.lowerBound >= 0 && columns.upperBound <= max(width, 0), "columns \(columns) outside 0..<\(width)")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= max(height, 0), "rows \(rows) outside 0..<\(height)")
        guard !columns.isEmpty, !rows.isEmpty else {
            return RGBImage(checkedWidth: columns.count, height: rows.count, pixels: [])
        }
        // The input span each axis reads: its windows' span when resized, else the outputs
        // themselves (an unchanged axis is copied).
        let inputColumns = horizontal?.inputSpan(of: columns) ?? columns
        let inputRows = vertical?.inputSpan(of: rows) ?? rows

        switch (horizontal, vertical) {
        case let (horizontal?, vertical?):
            if verticalFirst {
                let firstPass = ResamplePasses.vertical(
                    image, columns: inputColumns, taps: vertical.restricted(to: rows, shift: 0))
                return ResamplePasses.horizontal(
                    firstPass, rows: 0..<rows.count, taps: horizontal.restricted(to: columns, shift: inputColumns.lowerBound))
            }
            let firstPass = ResamplePasses.horizontal(
                image, rows: inputRows, taps: horizontal.restricted(to: columns, shift: 0))
            return ResamplePasses.vertical(
                firstPass, columns: 0..<columns.count, taps: vertical.restricted(to: rows, shift: inputRows.lowerBound))
        case let (horizontal?, nil):
            return ResamplePasses.horizontal(image, rows: rows, taps: horizontal.restricted(to: columns, shift: 0))
        case let (nil, vertical?):
            return ResamplePasses.vertical(image, columns: columns, taps: vertical.restricted(to: rows, shift: 0))
        case (nil, nil):
            return ResamplePasses.copy(image, columns: columns, rows: rows)
        }
    }
}
