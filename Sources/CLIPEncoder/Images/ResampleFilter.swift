/// Interpolation kernels for `Resampler`, with PIL's names and numeric codes.
public enum ResampleFilter: Int, Sendable, Equatable {
    /// Triangle kernel, support 1 (PIL code 2).
    case bilinear = 2
    /// Keys cubic convolution with a = -0.5, support 2 (PIL code 3); CLIP's filter.
    case bicubic = 3

    /// Half-width of the kernel at scale 1, in input pixels.
    var support: Double {
        switch self {
        case .bilinear: return 1
        case .bicubic: return 2
        }
    }

    /// The kernel's weight at distance `x` (in input pixels at scale 1).
    func weight(_ x: Double) -> Double {
        let distance = abs(x)
        switch self {
        case .bilinear:
            return distance < 1 ? 1 - distance : 0
        case .bicubic:
            // Keys (1981) cubic with a = -0.5, in Horner form:
            //   |x| < 1:      (a + 2)|x|³ - (a + 3)|x|² + 1
            //   1 ≤ |x| < 2:  a|x|³ - 5a|x|² + 8a|x| - 4a
            let a = -0.5
            if distance < 1 {
                return ((a + 2) * distance - (a + 3)) * distance * distance + 1
            }
            if distance < 2 {
                return (((distance - 5) * distance + 8) * distance - 4) * a
            }
            return 0
        }
    }
}
