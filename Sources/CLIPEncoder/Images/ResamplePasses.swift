import CResample

/// The two single-axis passes of `Resampler` on interleaved RGB bytes, with Pillow's
/// arithmetic: 32-bit sums of byte × 22-bit weight starting at one half, shifted back and
/// clamped to 0...255.
///
/// - The vertical pass sums whole rows: in C with AVX2 where the processor has it (`CResample`:
///   32 bytes' sums held in registers over the taps), otherwise for each tap one row of bytes
///   times one weight is added to a row of 32-bit sums (a loop the compiler vectorises).
/// - The horizontal pass runs in C with AVX2 where the processor has it (`CResample`: eight rows
///   in the lanes of a register, 4–5× this loop) and otherwise keeps a pixel's three sums in
///   registers and walks its window with pointers. (Packing the three channels into a
///   `SIMD4<Int32>` ran slower: without SSE4.1, the baseline x86-64 target has no 32-bit vector
///   multiply, and the compiler split it back into scalar products plus shuffles.)
///
/// Windows come from `Resampler.Taps`; callers keep them inside the image.
enum ResamplePasses {
    /// The fixed-point sum with `precision` fractional bits as a byte.
    @inline(__always)
    private static func byte(_ sum: Int32, precision: Int32) -> UInt8 {
        UInt8(truncatingIfNeeded: min(max(sum &>> precision, 0), 255))
    }

    /// Horizontal pass over `rows` of `image`: an image `taps.starts.count` wide and
    /// `rows.count` high whose pixel `x` of each row sums the row's pixels
    /// `taps.starts[x] ..< taps.starts[x] + taps.counts[x]`.
    /// - Parameter vectorised: false keeps to the Swift loop (for tests of both paths).
    static func horizontal(_ image: RGBImage, rows: Range<Int>, taps: Resampler.Taps, vectorised: Bool = true) -> RGBImage {
        let outputWidth = taps.starts.count
        let pixels = [UInt8](unsafeUninitializedCapacity: rows.count * outputWidth * 3) { buffer, initialized in
            image.pixels.withUnsafeBufferPointer { source in
                taps.weights.withUnsafeBufferPointer { weights in
                    taps.starts.withUnsafeBufferPointer { starts in
                        taps.counts.withUnsafeBufferPointer { counts in
                            guard let sourceBase = source.baseAddress, let targetBase = buffer.baseAddress,
                                  let weightBase = weights.baseAddress
                            else { return }
                            let sourceRowBytes = image.width * 3
                            if vectorised, let startBase = starts.baseAddress, let countBase = counts.baseAddress,
                               resample_horizontal_rows(
                                   sourceBase + rows.lowerBound * sourceRowBytes, image.width, rows.count, targetBase,
                                   outputWidth, startBase, countBase, weightBase, taps.width, Int32(taps.precisionBits)) != 0
                            {
                                return
                            }
                            for (index, row) in rows.enumerated() {
                                let sourceRow = sourceBase + row * sourceRowBytes
                                let targetRow = targetBase + index * outputWidth * 3
                                horizontalRow(
                                    sourceRow, into: targetRow, starts: starts, counts: counts, weights: weightBase,
                                    tapWidth: taps.width, precision: Int32(taps.precisionBits))
                            }
                        }
                    }
                }
            }
            initialized = rows.count * outputWidth * 3
        }
        return RGBImage(checkedWidth: outputWidth, height: rows.count, pixels: pixels)
    }

    /// One row of the horizontal pass: the three channels' sums side by side, pointers
    /// walking the window and its weights.
    @inline(__always)
    private static func horizontalRow(
        _ source: UnsafePointer<UInt8>, into target: UnsafeMutablePointer<UInt8>, starts: UnsafeBufferPointer<Int>,
        counts: UnsafeBufferPointer<Int>, weights: UnsafePointer<Int32>, tapWidth: Int, precision: Int32
    ) {
        let half = Int32(1) << (precision - 1)
        var out = target
        var pixelWeights = weights
        for x in 0..<starts.count {
            var red = half, green = half, blue = half
            var window = source + starts[x] &* 3
            var weight = pixelWeights
            let end = pixelWeights + counts[x]
            while weight < end {
                let w = weight.pointee
                red &+= Int32(window[0]) &* w
                green &+= Int32(window[1]) &* w
                blue &+= Int32(window[2]) &* w
                window += 3
                weight += 1
            }
            out[0] = byte(red, precision: precision)
            out[1] = byte(green, precision: precision)
            out[2] = byte(blue, precision: precision)
            out += 3
            pixelWeights += tapWidth
        }
    }

    /// Vertical pass over `columns` of `image`: an image `columns.count` wide and
    /// `taps.starts.count` high whose row `y` sums the image's rows
    /// `taps.starts[y] ..< taps.starts[y] + taps.counts[y]`.
    /// - Parameter vectorised: false keeps to the Swift loop (for tests of both paths).
    static func vertical(_ image: RGBImage, columns: Range<Int>, taps: Resampler.Taps, vectorised: Bool = true) -> RGBImage {
        let outputHeight = taps.starts.count
        let rowBytes = columns.count * 3
        let sourceRowBytes = image.width * 3
        let pixels = [UInt8](unsafeUninitializedCapacity: outputHeight * rowBytes) { buffer, initialized in
            image.pixels.withUnsafeBufferPointer { source in
                taps.weights.withUnsafeBufferPointer { weights in
                    taps.starts.withUnsafeBufferPointer { starts in
                        taps.counts.withUnsafeBufferPointer { counts in
                            guard let sourceBase = source.baseAddress, let targetBase = buffer.baseAddress,
                                  let weightBase = weights.baseAddress, let startBase = starts.baseAddress,
                                  let countBase = counts.baseAddress
                            else { return }
                            let firstColumn = sourceBase + columns.lowerBound * 3
                            if vectorised,
                               resample_vertical_rows(
                                   firstColumn, sourceRowBytes, rowBytes, targetBase, outputHeight, startBase, countBase,
                                   weightBase, taps.width, Int32(taps.precisionBits)) != 0
                            {
                                return
                            }
                            let precision = Int32(taps.precisionBits)
                            let half = Int32(1) << (precision - 1)
                            let sum = UnsafeMutablePointer<Int32>.allocate(capacity: rowBytes)
                            defer { sum.deallocate() }
                            for y in 0..<outputHeight {
                                for index in 0..<rowBytes { sum[index] = half }
                                let rowWeights = weightBase + y * taps.width
                                for tap in 0..<counts[y] {
                                    let weight = rowWeights[tap]
                                    let row = firstColumn + (starts[y] + tap) * sourceRowBytes
                                    for index in 0..<rowBytes { sum[index] &+= Int32(row[index]) &* weight }
                                }
                                let target = targetBase + y * rowBytes
                                for index in 0..<rowBytes { target[index] = byte(sum[index], precision: precision) }
                            }
                        }
                    }
                }
            }
            initialized = outputHeight * rowBytes
        }
        return RGBImage(checkedWidth: columns.count, height: outputHeight, pixels: pixels)
    }

    /// The part `columns × rows` of `image`, copied.
    static func copy(_ image: RGBImage, columns: Range<Int>, rows: Range<Int>) -> RGBImage {
        if columns == 0..<image.width && rows == 0..<image.height { return image }
        let rowBytes = columns.count * 3
        var pixels: [UInt8] = []
        pixels.reserveCapacity(rows.count * rowBytes)
        for row in rows {
            let start = (row * image.width + columns.lowerBound) * 3
            pixels.append(contentsOf: image.pixels[start..<(start + rowBytes)])
        }
        return RGBImage(checkedWidth: columns.count, height: rows.count, pixels: pixels)
    }
}
