/// Pillow's `Image.resize` for the modes other than `RGB` and `L`, followed by
/// `convert("RGB")`: the `openai` pipeline resizes an image in the mode it was opened in.
///
/// - `P` and `1`: nearest-neighbour whatever filter is asked (`Image.resize` forces it), as
///   Pillow's `ImagingScaleAffine` picks pixels: output `x` reads input `⌊x₀ + s/2 + x·s⌋`,
///   the position accumulated in `double` one output at a time (`s = input / output`).
/// - `RGBA` and `LA`: converted to premultiplied `RGBa` / `La` (`c·a/255` with Pillow's
///   `MULDIV255` rounding), resized with the 8-bit resampler on all four channels, converted back
///   (`255·c / a` truncated and clipped, unchanged where `a` is 0 or 255), alpha then dropped.
/// - `CMYK`: the ink amounts resized with the 8-bit resampler, then converted to RGB.
/// - `I;16`: Pillow's 16-bit resampler: `double` weights (not fixed point), each pass's sum
///   rounded half up and clipped to 0...65535; then `convert("RGB")` clips at 255.
///
/// Only the output part `columns × rows` is computed, as `Resampler` does.
enum ModeResampling {
    /// The part `columns × rows` of `source` resized to `width × height` with `filter` (or the
    /// mode's forced filter), converted to RGB.
    static func resizedRGB(
        _ source: SourceImage, width: Int, height: Int, filter: ResampleFilter, columns: Range<Int>, rows: Range<Int>
    ) -> RGBImage {
        if columns.isEmpty || rows.isEmpty { return RGBImage(checkedWidth: columns.count, height: rows.count, pixels: []) }
        switch source.mode {
        case .rgb, .grey:
            return Resampler.resize(
                RGBImage(checkedWidth: source.width, height: source.height, pixels: source.samples),
                width: width, height: height, filter: filter, columns: columns, rows: rows)
        case .bilevel, .palette:
            return nearest(source, width: width, height: height, columns: columns, rows: rows)
        case .rgba, .greyAlpha:
            return premultiplied(source, width: width, height: height, filter: filter, columns: columns, rows: rows)
        case .cmyk:
            let (inks, black) = split(source.samples, pixelCount: source.width * source.height) { $0 }
            let resizedInks = Resampler.resize(
                RGBImage(checkedWidth: source.width, height: source.height, pixels: inks),
                width: width, height: height, filter: filter, columns: columns, rows: rows)
            let resizedBlack = Resampler.resize(
                RGBImage(checkedWidth: source.width, height: source.height, pixels: black),
                width: width, height: height, filter: filter, columns: columns, rows: rows)
            let count = columns.count * rows.count
            var cmyk = [UInt8](repeating: 0, count: count * 4)
            for pixel in 0..<count {
                for channel in 0..<3 { cmyk[4 * pixel + channel] = resizedInks.pixels[3 * pixel + channel] }
                cmyk[4 * pixel + 3] = resizedBlack.pixels[3 * pixel]
            }
            return RGBImage(checkedWidth: columns.count, height: rows.count, pixels: SourceImage.rgbBytes(
                mode: .cmyk, samples: cmyk, wideSamples: [], pixelCount: count))
        case .grey16:
            let resized = resize16(
                source.wideSamples, width: source.width, height: source.height, outputWidth: width,
                outputHeight: height, filter: filter)
            var part = [UInt16]()
            part.reserveCapacity(columns.count * rows.count)
            for row in rows { part += resized[(row * width + columns.lowerBound)..<(row * width + columns.upperBound)] }
            return RGBImage(checkedWidth: columns.count, height: rows.count, pixels: SourceImage.rgbBytes(
                mode: .grey16, samples: [], wideSamples: part, pixelCount: part.count))
        }
    }

    /// The input index each of `outputSize` outputs reads in Pillow's nearest-neighbour scale
    /// (`ImagingScaleAffine`), or -1 where it falls outside (Pillow leaves those black).
    static func nearestIndices(inputSize: Int, outputSize: Int) -> [Int] {
        let step = Double(inputSize) / Double(outputSize)
        var position = step * 0.5
        var indices = [Int](repeating: -1, count: outputSize)
        for output in 0..<outputSize {
            let index = position < 0 ? -1 : Int(position)
            if index < inputSize { indices[output] = index }
            position += step
        }
        return indices
    }

    /// Nearest-neighbour part of an image stored as RGB (`P` and `1` sources).
    private static func nearest(_ source: SourceImage, width: Int, height: Int, columns: Range<Int>, rows: Range<Int>) -> RGBImage {
        let xs = nearestIndices(inputSize: source.width, outputSize: width)
        let ys = nearestIndices(inputSize: source.height, outputSize: height)
        var pixels = [UInt8](repeating: 0, count: columns.count * rows.count * 3)
        for (rowIndex, row) in rows.enumerated() {
            let y = ys[row]
            guard y >= 0 else { continue }
            for (columnIndex, column) in columns.enumerated() {
                let x = xs[column]
                guard x >= 0 else { continue }
                let from = (y * source.width + x) * 3
                let to = (rowIndex * columns.count + columnIndex) * 3
                pixels[to] = source.samples[from]
                pixels[to + 1] = source.samples[from + 1]
                pixels[to + 2] = source.samples[from + 2]
            }
        }
        return RGBImage(checkedWidth: columns.count, height: rows.count, pixels: pixels)
    }

    /// Splits four interleaved channels into an RGB image of the first three (each through
    /// `transform`) and one whose channels all hold the fourth.
    private static func split(
        _ samples: [UInt8], pixelCount: Int, _ transform: (_ value: UInt8, _ fourth: UInt8) -> UInt8
    ) -> (first: [UInt8], fourth: [UInt8]) {
        var first = [UInt8](repeating: 0, count: pixelCount * 3)
        var fourth = [UInt8](repeating: 0, count: pixelCount * 3)
        for pixel in 0..<pixelCount {
            let last = samples[4 * pixel + 3]
            for channel in 0..<3 {
                first[3 * pixel + channel] = transform(samples[4 * pixel + channel], last)
                fourth[3 * pixel + channel] = last
            }
        }
        return (first, fourth)
    }

    private static func split(
        _ samples: [UInt8], pixelCount: Int, _ transform: (_ value: UInt8) -> UInt8
    ) -> (first: [UInt8], fourth: [UInt8]) {
        split(samples, pixelCount: pixelCount) { value, _ in transform(value) }
    }

    /// Pillow's premultiplied-alpha resize of `RGBA` / `LA`, alpha dropped afterwards.
    private static func premultiplied(
        _ source: SourceImage, width: Int, height: Int, filter: ResampleFilter, columns: Range<Int>, rows: Range<Int>
    ) -> RGBImage {
        // RGBA → RGBa (Pillow's rgbA2rgba): c · a / 255 with MULDIV255 rounding.
        let (colours, alpha) = split(source.samples, pixelCount: source.width * source.height) { value, alpha in
            UInt8(SourceImage.multiplyDivide255(Int(value), Int(alpha)))
        }
        let resizedColours = Resampler.resize(
            RGBImage(checkedWidth: source.width, height: source.height, pixels: colours),
            width: width, height: height, filter: filter, columns: columns, rows: rows)
        let resizedAlpha = Resampler.resize(
            RGBImage(checkedWidth: source.width, height: source.height, pixels: alpha),
            width: width, height: height, filter: filter, columns: columns, rows: rows)
        // RGBa → RGBA (Pillow's rgba2rgbA): 255 · c / a truncated and clipped, unchanged where
        // a is 0 or 255; convert("RGB") then drops a.
        var pixels = resizedColours.pixels
        for pixel in 0..<(columns.count * rows.count) {
            let a = Int(resizedAlpha.pixels[3 * pixel])
            guard a != 0 && a != 255 else { continue }
            for channel in 0..<3 {
                pixels[3 * pixel + channel] = UInt8(clamping: 255 * Int(pixels[3 * pixel + channel]) / a)
            }
        }
        return RGBImage(checkedWidth: columns.count, height: rows.count, pixels: pixels)
    }

    /// Pillow's 16-bit resize of one-channel samples: `double` weights, each pass's sum
    /// rounded half up (`(int)(ss + 0.5)`) and clipped to 0...65535, passes in Pillow's order.
    static func resize16(
        _ samples: [UInt16], width: Int, height: Int, outputWidth: Int, outputHeight: Int, filter: ResampleFilter
    ) -> [UInt16] {
        var current = samples
        var currentWidth = width
        var currentHeight = height
        func horizontal() {
            guard outputWidth != currentWidth else { return }
            let taps = Resampler.realTaps(inputSize: currentWidth, outputSize: outputWidth, filter: filter)
            var output = [UInt16](repeating: 0, count: outputWidth * currentHeight)
            for row in 0..<currentHeight {
                for x in 0..<outputWidth {
                    var sum = 0.0
                    for tap in 0..<taps.counts[x] {
                        sum += Double(current[row * currentWidth + taps.starts[x] + tap]) * taps.weights[x * taps.width + tap]
                    }
                    output[row * outputWidth + x] = clip16(sum)
                }
            }
            current = output
            currentWidth = outputWidth
        }
        func vertical() {
            guard outputHeight != currentHeight else { return }
            let taps = Resampler.realTaps(inputSize: currentHeight, outputSize: outputHeight, filter: filter)
            var output = [UInt16](repeating: 0, count: currentWidth * outputHeight)
            for y in 0..<outputHeight {
                for column in 0..<currentWidth {
                    var sum = 0.0
                    for tap in 0..<taps.counts[y] {
                        sum += Double(current[(taps.starts[y] + tap) * currentWidth + column]) * taps.weights[y * taps.width + tap]
                    }
                    output[y * currentWidth + column] = clip16(sum)
                }
            }
            current = output
            currentHeight = outputHeight
        }
        if Resampler.verticalPassFirst(inputWidth: width, inputHeight: height, outputWidth: outputWidth, outputHeight: outputHeight) {
            vertical()
            horizontal()
        } else {
            horizontal()
            vertical()
        }
        return current
    }

    /// Pillow's `CLIP16(ROUND_UP(ss))` with `ROUND_UP(f) = (int)(f + 0.5)` for `f ≥ 0` and
    /// `(int)(f − 0.5)` below.
    @inline(__always)
    private static func clip16(_ sum: Double) -> UInt16 {
        let rounded = sum >= 0 ? Int(sum + 0.5) : Int(sum - 0.5)
        return UInt16(clamping: rounded)
    }
}
