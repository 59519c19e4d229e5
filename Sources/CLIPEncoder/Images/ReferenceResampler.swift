/// The plain-loop twin of `Resampler`: the same arithmetic one pixel and one tap at a time,
/// over the whole image, with 64-bit sums. Tests hold `Resampler` to it on sizes
/// the Pillow fixtures do not cover.
enum ReferenceResampler {
    /// `image` resized to `width × height` with `filter`.
    /// A non-positive target size gives an image without pixels.
    static func resize(_ image: RGBImage, width: Int, height: Int, filter: ResampleFilter) -> RGBImage {
        if width == image.width && height == image.height { return image }
        guard width > 0, height > 0 else {
            return RGBImage(checkedWidth: max(width, 0), height: max(height, 0), pixels: [])
        }
        let needsHorizontal = width != image.width
        let needsVertical = height != image.height
        let horizontalTaps = needsHorizontal ? Resampler.taps(inputSize: image.width, outputSize: width, filter: filter) : nil
        let verticalTaps = needsVertical ? Resampler.taps(inputSize: image.height, outputSize: height, filter: filter) : nil

        switch (horizontalTaps, verticalTaps) {
        case let (horizontal?, vertical?):
            if Resampler.verticalPassFirst(
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
            let shifted = Resampler.Taps(
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
        _ input: [UInt8], inputWidth: Int, rows: Range<Int>, taps: Resampler.Taps, outputWidth: Int
    ) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: rows.count * outputWidth * 3)
        let half = 1 << (Resampler.precisionBits - 1)
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
                            target[out] = Resampler.byte(red)
                            target[out + 1] = Resampler.byte(green)
                            target[out + 2] = Resampler.byte(blue)
                        }
                    }
                }
            }
        }
        return output
    }

    /// Vertical pass over an RGB image `width` wide.
    private static func resampleColumns(_ input: [UInt8], width: Int, taps: Resampler.Taps, outputHeight: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: outputHeight * width * 3)
        let half = 1 << (Resampler.precisionBits - 1)
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
                            target[y * rowSize + column] = Resampler.byte(sum)
                        }
                    }
                }
            }
        }
        return output
    }
}
