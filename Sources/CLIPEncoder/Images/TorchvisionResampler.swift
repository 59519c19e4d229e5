/// torchvision's antialiased bicubic resize of a uint8 image tensor
/// (`torchvision.transforms.v2.functional.resize(..., BICUBIC, antialias=True)`, which calls
/// `torch.nn.functional.interpolate(mode="bicubic", antialias=True)`), as transformers ≥ 5's
/// default `CLIPImageProcessor` runs it. On x86-64 processors PyTorch computes it in fixed point
/// (`UpSampleKernelAVXAntialias.h`), which this reproduces byte for byte (measured against torch
/// 2.15 on an AVX-512 Xeon, every fixture byte equal; the rules below were read off its output):
///
/// - Weights per axis: output `i` centres at `c = s·(i + 0.5)` (`s = input / output`), the
///   window is `[⌊c − r + 0.5⌋, ⌊c + r + 0.5⌋)` clamped to the image with `r = 2·max(s, 1)`, tap
///   `j` weighs Keys' cubic (`a = −0.5`) at `(j − c + 0.5) / max(s, 1)`, normalised to sum to 1,
///   all in `double` — Pillow's weights.
/// - Fixed point per axis: the largest precision `p ≤ 22` with `round(w_max · 2^p) < 2^15`
///   (the weights fit in int16), weights rounded half away from zero; sums start at `2^(p−1)`,
///   are shifted by `p` and clamped to 0...255.
/// - The horizontal pass runs first (never the vertical, unlike Pillow 13), its result rounded
///   to bytes; an axis whose size does not change is skipped.
///
/// Other processors may run PyTorch's generic kernel, which can round differently by a level
/// (the fixture test allows one level in 0.5 % of the bytes for that reason).
enum TorchvisionResampler {
    /// torchvision's largest weight precision.
    static let maximumPrecisionBits = 22

    /// The taps mapping `inputSize` pixels onto `outputSize` pixels, at torchvision's precision.
    static func taps(inputSize: Int, outputSize: Int) -> Resampler.Taps {
        let real = Resampler.realTaps(inputSize: inputSize, outputSize: outputSize, filter: .bicubic)
        let largest = real.weights.max() ?? 0
        var precision = 0
        while precision < maximumPrecisionBits, Int(0.5 + largest * Double(1 << (precision + 1))) < (1 << 15) {
            precision += 1
        }
        let one = Double(1 << precision)
        let weights = real.weights.map { weight -> Int32 in
            let scaled = weight * one
            return Int32(scaled < 0 ? scaled - 0.5 : scaled + 0.5)
        }
        return Resampler.Taps(
            width: real.width, starts: real.starts, counts: real.counts, weights: weights, precisionBits: precision)
    }

    /// The part `columns × rows` of `image` resized to `width × height`: the same bytes as
    /// cropping the whole resize there.
    /// - Precondition: `columns` lies within `0..<width` and `rows` within `0..<height`.
    static func resize(_ image: RGBImage, width: Int, height: Int, columns: Range<Int>, rows: Range<Int>) -> RGBImage {
        let horizontal = width != image.width ? taps(inputSize: image.width, outputSize: width) : nil
        let vertical = height != image.height ? taps(inputSize: image.height, outputSize: height) : nil
        return Resampler.resize(
            image, width: width, height: height, horizontal: horizontal, vertical: vertical, verticalFirst: false,
            columns: columns, rows: rows)
    }

    /// `image` resized to `width × height`.
    static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        resize(image, width: width, height: height, columns: 0..<max(width, 0), rows: 0..<max(height, 0))
    }
}
