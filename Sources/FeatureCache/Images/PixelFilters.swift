import Datasets
import Foundation

/// Scalar helpers shared by the transforms.
enum PixelMath {
    /// `byte / 255` as one rounded `Double` division.
    @inline(__always)
    static func unit(_ byte: UInt8) -> Double { Double(byte) / 255.0 }

    /// `floor(min(max(y, 0), 1) · 255 + 0.5)` as a byte (multiply, then add, then floor); NaN gives 0.
    @inline(__always)
    static func quantise(_ y: Double) -> UInt8 {
        guard !y.isNaN else { return 0 }
        let clipped = min(max(y, 0.0), 1.0)
        return UInt8((clipped * 255.0 + 0.5).rounded(.down))
    }

    /// ITU-R 601 luma as PIL's `convert("L")` computes it: `(19595 R + 38470 G + 7471 B + 2¹⁵) >> 16`.
    @inline(__always)
    static func grey(red: UInt8, green: UInt8, blue: UInt8) -> UInt8 {
        let weighted: Int = 19595 * Int(red) + 38470 * Int(green) + 7471 * Int(blue)
        return UInt8((weighted + 0x8000) >> 16)
    }
}

/// Neighbourhood filters on `InMemoryImage`s (grey or RGB, channel-interleaved), with clamped
/// borders: `pixel(r, c) = image[min(max(r, 0), height − 1), min(max(c, 0), width − 1)]`.
enum PixelFilters {
    /// Separable binomial blur `[1, 4, 6, 4, 1]`, rows first then columns, in exact integers.
    /// - Returns: `B / 65280` for each byte of the image (same layout), in [0, 1].
    static func binomialBlur(_ image: InMemoryImage) -> [Double] {
        let taps = [1, 4, 6, 4, 1]
        let rows = convolveRows(image.pixels.map(Int.init), image: image, taps: taps)
        let sums = convolveColumns(rows, image: image, taps: taps)
        return sums.map { Double($0) / 65280.0 }
    }

    /// Separable sampled-Gaussian blur of standard deviation `sigma`, rows first then columns,
    /// in `Double` on the byte values, divided by 255 at the end.
    /// - Returns: values in [0, 1], same layout as the image.
    static func gaussianBlur(_ image: InMemoryImage, sigma: Double) -> [Double] {
        let taps = gaussianTaps(sigma: sigma)
        let rows = convolveRows(image.pixels.map(Double.init), image: image, taps: taps)
        return convolveColumns(rows, image: image, taps: taps).map { $0 / 255.0 }
    }

    /// `exp(−k² / (2σ²))` for `k = −r … r`, `r = ⌈3σ⌉`, divided by their sum; `[1]` for σ = 0.
    static func gaussianTaps(sigma: Double) -> [Double] {
        guard sigma > 0 else { return [1] }
        let radius = Int((3 * sigma).rounded(.up))
        let raw = (-radius...radius).map { offset in exp(-Double(offset * offset) / (2 * sigma * sigma)) }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }

    /// Sobel gradient magnitude of the grey value, divided by its image maximum and quantised;
    /// every channel of the result holds it. An image without gradient gives zeros.
    ///
    /// `gx = (P[r−1][c+1] + 2P[r][c+1] + P[r+1][c+1]) − (P[r−1][c−1] + 2P[r][c−1] + P[r+1][c−1])`,
    /// `gy = (P[r+1][c−1] + 2P[r+1][c] + P[r+1][c+1]) − (P[r−1][c−1] + 2P[r−1][c] + P[r−1][c+1])`,
    /// `m = √(gx² + gy²)`, `y = m / max(m)`.
    static func sobelEdges(_ image: InMemoryImage) -> [UInt8] {
        let width = image.width, height = image.height, channels = image.channels
        let grey: [Int]
        if channels == 3 {
            grey = (0..<(width * height)).map { pixel in
                Int(PixelMath.grey(
                    red: image.pixels[3 * pixel], green: image.pixels[3 * pixel + 1], blue: image.pixels[3 * pixel + 2]))
            }
        } else {
            grey = image.pixels.map(Int.init)
        }
        func at(_ row: Int, _ column: Int) -> Int {
            grey[min(max(row, 0), height - 1) * width + min(max(column, 0), width - 1)]
        }
        var magnitudes = [Double](repeating: 0, count: width * height)
        var maximum = 0.0
        for row in 0..<height {
            for column in 0..<width {
                let gx = (at(row - 1, column + 1) + 2 * at(row, column + 1) + at(row + 1, column + 1))
                    - (at(row - 1, column - 1) + 2 * at(row, column - 1) + at(row + 1, column - 1))
                let gy = (at(row + 1, column - 1) + 2 * at(row + 1, column) + at(row + 1, column + 1))
                    - (at(row - 1, column - 1) + 2 * at(row - 1, column) + at(row - 1, column + 1))
                let magnitude = Double(gx * gx + gy * gy).squareRoot()
                magnitudes[row * width + column] = magnitude
                maximum = max(maximum, magnitude)
            }
        }
        var result = [UInt8](repeating: 0, count: image.pixels.count)
        guard maximum > 0 else { return result }
        for pixel in 0..<(width * height) {
            let value = PixelMath.quantise(magnitudes[pixel] / maximum)
            for channel in 0..<channels { result[pixel * channels + channel] = value }
        }
        return result
    }

    /// Each row convolved with the centred `taps`, per channel, clamping columns.
    private static func convolveRows<Value: Numeric>(_ values: [Value], image: InMemoryImage, taps: [Value]) -> [Value] {
        let width = image.width, channels = image.channels, radius = taps.count / 2
        var result = [Value](repeating: 0, count: values.count)
        for row in 0..<image.height {
            let base = row * width * channels
            for column in 0..<width {
                for channel in 0..<channels {
                    var sum: Value = 0
                    for (tap, weight) in taps.enumerated() {
                        let source = min(max(column + tap - radius, 0), width - 1)
                        sum += weight * values[base + source * channels + channel]
                    }
                    result[base + column * channels + channel] = sum
                }
            }
        }
        return result
    }

    /// Each column convolved with the centred `taps`, per channel, clamping rows.
    private static func convolveColumns<Value: Numeric>(_ values: [Value], image: InMemoryImage, taps: [Value]) -> [Value] {
        let rowSize = image.width * image.channels, radius = taps.count / 2
        var result = [Value](repeating: 0, count: values.count)
        for row in 0..<image.height {
            for offset in 0..<rowSize {
                var sum: Value = 0
                for (tap, weight) in taps.enumerated() {
                    let source = min(max(row + tap - radius, 0), image.height - 1)
                    sum += weight * values[source * rowSize + offset]
                }
                result[row * rowSize + offset] = sum
            }
        }
        return result
    }

    /// `image` with a square of side `round(size · min(width, height))` (half up) set to `fill`
    /// in every channel. Its top-left corner is `(⌊u₀ · (height − side + 1)⌋, ⌊u₁ · (width − side + 1)⌋)`
    /// with `u₀, u₁` the first two uniforms of the image's stream.
    static func cutout(_ image: InMemoryImage, size: Double, fill: UInt8, seed: UInt64, index: Int) -> [UInt8] {
        let side = min(Int((size * Double(min(image.width, image.height)) + 0.5).rounded(.down)), min(image.width, image.height))
        guard side > 0 else { return image.pixels }
        let draws = ShiftNoise.uniforms(seed: seed, index: index, count: 2)
        let top = Int(draws[0] * Double(image.height - side + 1)), left = Int(draws[1] * Double(image.width - side + 1))
        var pixels = image.pixels
        for row in top..<(top + side) {
            for column in left..<(left + side) {
                for channel in 0..<image.channels { pixels[(row * image.width + column) * image.channels + channel] = fill }
            }
        }
        return pixels
    }

    /// Every `block × block` tile (smaller at the right and bottom edges) replaced, per channel,
    /// by the integer mean of its bytes rounded half up: `(sum + count / 2) / count`.
    static func pixelate(_ image: InMemoryImage, block: Int) -> [UInt8] {
        guard block > 1 else { return image.pixels }
        var pixels = image.pixels
        for tileTop in stride(from: 0, to: image.height, by: block) {
            for tileLeft in stride(from: 0, to: image.width, by: block) {
                let rows = tileTop..<min(tileTop + block, image.height), columns = tileLeft..<min(tileLeft + block, image.width)
                let count = rows.count * columns.count
                for channel in 0..<image.channels {
                    var sum = 0
                    for row in rows { for column in columns { sum += Int(image.pixels[(row * image.width + column) * image.channels + channel]) } }
                    let mean = UInt8((sum + count / 2) / count)
                    for row in rows { for column in columns { pixels[(row * image.width + column) * image.channels + channel] = mean } }
                }
            }
        }
        return pixels
    }
}
