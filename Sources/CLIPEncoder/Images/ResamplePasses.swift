/// The two single-axis passes of `Resampler` on interleaved RGB bytes, with Pillow's
/// arithmetic: 32-bit sums of byte × 22-bit weight starting at one half, shifted back and
/// clamped to 0...255.
///
/// - The vertical pass sums whole rows: for each tap, one row of bytes times one weight is
///   added to a row of 32-bit sums (a loop the compiler turns into vector instructions).
/// - The horizontal pass sums the three channels of a pixel at once in a `SIMD4<Int32>`,
///   loading four bytes per tap (the fourth, the next pixel's red, is multiplied and ignored;
///   on the image's last row, where it would lie past the buffer, a scalar loop runs instead).
///
/// Windows come from `Resampler.Taps`; callers keep them inside the image.
enum ResamplePasses {
    private static let half = Int32(1 << (Resampler.precisionBits - 1))

    /// The fixed-point sum as a byte.
    @inline(__always)
    private static func byte(_ sum: Int32) -> UInt8 {
        UInt8(truncatingIfNeeded: min(max(sum &>> Int32(Resampler.precisionBits), 0), 255))
    }

    /// Horizontal pass over `rows` of `image`: an image `taps.starts.count` wide and
    /// `rows.count` high whose pixel `x` of each row sums the row's pixels
    /// `taps.starts[x] ..< taps.starts[x] + taps.counts[x]`.
    static func horizontal(_ image: RGBImage, rows: Range<Int>, taps: Resampler.Taps) -> RGBImage {
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
                            for (index, row) in rows.enumerated() {
                                let sourceRow = sourceBase + row * sourceRowBytes
                                let targetRow = targetBase + index * outputWidth * 3
                                if row == image.height - 1 {
                                    horizontalRowScalar(
                                        sourceRow, into: targetRow, starts: starts, counts: counts, weights: weightBase,
                                        tapWidth: taps.width)
                                } else {
                                    horizontalRowVector(
                                        sourceRow, into: targetRow, starts: starts, counts: counts, weights: weightBase,
                                        tapWidth: taps.width)
                                }
                            }
                        }
                    }
                }
            }
            initialized = rows.count * outputWidth * 3
        }
        return RGBImage(checkedWidth: outputWidth, height: rows.count, pixels: pixels)
    }

    /// One row of the horizontal pass, three channels per `SIMD4` (reads one byte past each
    /// window's last pixel).
    @inline(__always)
    private static func horizontalRowVector(
        _ source: UnsafePointer<UInt8>, into target: UnsafeMutablePointer<UInt8>, starts: UnsafeBufferPointer<Int>,
        counts: UnsafeBufferPointer<Int>, weights: UnsafePointer<Int32>, tapWidth: Int
    ) {
        let halves = SIMD4<Int32>(repeating: half)
        for x in 0..<starts.count {
            var sum = halves
            var pixel = UnsafeRawPointer(source + starts[x] * 3)
            let pixelWeights = weights + x * tapWidth
            for tap in 0..<counts[x] {
                let bytes = pixel.loadUnaligned(as: SIMD4<UInt8>.self)
                sum &+= SIMD4<Int32>(truncatingIfNeeded: bytes) &* pixelWeights[tap]
                pixel += 3
            }
            let out = target + x * 3
            out[0] = byte(sum[0])
            out[1] = byte(sum[1])
            out[2] = byte(sum[2])
        }
    }

    /// One row of the horizontal pass, one channel at a time (reads only the window).
    private static func horizontalRowScalar(
        _ source: UnsafePointer<UInt8>, into target: UnsafeMutablePointer<UInt8>, starts: UnsafeBufferPointer<Int>,
        counts: UnsafeBufferPointer<Int>, weights: UnsafePointer<Int32>, tapWidth: Int
    ) {
        for x in 0..<starts.count {
            var red = half, green = half, blue = half
            let window = source + starts[x] * 3
            let pixelWeights = weights + x * tapWidth
            for tap in 0..<counts[x] {
                let weight = pixelWeights[tap]
                red &+= Int32(window[tap * 3]) &* weight
                green &+= Int32(window[tap * 3 + 1]) &* weight
                blue &+= Int32(window[tap * 3 + 2]) &* weight
            }
            target[x * 3] = byte(red)
            target[x * 3 + 1] = byte(green)
            target[x * 3 + 2] = byte(blue)
        }
    }

    /// Vertical pass over `columns` of `image`: an image `columns.count` wide and
    /// `taps.starts.count` high whose row `y` sums the image's rows
    /// `taps.starts[y] ..< taps.starts[y] + taps.counts[y]`.
    static func vertical(_ image: RGBImage, columns: Range<Int>, taps: Resampler.Taps) -> RGBImage {
        let outputHeight = taps.starts.count
        let rowBytes = columns.count * 3
        let sourceRowBytes = image.width * 3
        var sums = [Int32](repeating: 0, count: rowBytes)
        let pixels = [UInt8](unsafeUninitializedCapacity: outputHeight * rowBytes) { buffer, initialized in
            image.pixels.withUnsafeBufferPointer { source in
                sums.withUnsafeMutableBufferPointer { sums in
                    guard let sourceBase = source.baseAddress, let targetBase = buffer.baseAddress,
                          let sum = sums.baseAddress
                    else { return }
                    let firstColumn = sourceBase + columns.lowerBound * 3
                    for y in 0..<outputHeight {
                        for index in 0..<rowBytes { sum[index] = half }
                        let weightRow = y * taps.width
                        for tap in 0..<taps.counts[y] {
                            let weight = taps.weights[weightRow + tap]
                            let row = firstColumn + (taps.starts[y] + tap) * sourceRowBytes
                            for index in 0..<rowBytes { sum[index] &+= Int32(row[index]) &* weight }
                        }
                        let target = targetBase + y * rowBytes
                        for index in 0..<rowBytes { target[index] = byte(sum[index]) }
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
