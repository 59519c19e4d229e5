/// Conversions between `Float` and the 16-bit float formats stored in safetensors files,
/// written on bit patterns so that they behave the same on every platform.
///
/// - IEEE half (F16): 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
/// - bfloat16 (BF16): the upper 16 bits of a float32 (1 sign, 8 exponent, 7 mantissa bits).
public enum HalfPrecision {
    /// The `Float` equal to the IEEE half with bit pattern `bits` (exact: every half is a float).
    /// Subnormal halves, ±0, ±infinity and NaN (payload kept) map to their float counterparts.
    @inlinable
    public static func float(fromHalfBits bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits) & 0x3FF
        if exponent == 0x1F {
            // Infinity (mantissa 0) or NaN (payload moved to the top of the float mantissa).
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            // Zero or subnormal: value = mantissa · 2^-24, exact in float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        // Normal: rebias the exponent from 15 to 127.
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// The IEEE half bit pattern nearest to `value`, ties to even (the rounding of numpy's and
    /// PyTorch's float16 casts). Values beyond the largest half (65504) round to infinity, those
    /// below half the smallest subnormal to zero; NaN stays a (quiet) NaN.
    @inlinable
    public static func halfBits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {
            // Infinity or NaN; keep the NaN's top payload bits and force it quiet.
            return mantissa == 0 ? sign | 0x7C00 : sign | 0x7E00 | UInt16(mantissa >> 13)
        }
        // Unbiased exponent of the float; half normals span 2^-14 ... 2^15.
        let unbiased = exponent - 127
        if unbiased > 15 {
            return sign | 0x7C00
        }
        if unbiased >= -14 {
            // Normal half: keep 10 mantissa bits, round the 13 dropped bits to nearest even.
            var result = UInt32(unbiased + 15) << 10 | (mantissa >> 13)
            let dropped = mantissa & 0x1FFF
            if dropped > 0x1000 || (dropped == 0x1000 && (result & 1) == 1) {
                result += 1  // may carry into the exponent, up to infinity: both correct
            }
            return sign | UInt16(result)
        }
        if unbiased < -25 {
            // Below half of the smallest subnormal (2^-25): rounds to zero.
            return sign
        }
        // Subnormal half: value = m · 2^-24 with m = significand · 2^(unbiased + 24 - 23).
        let significand = mantissa | 0x80_0000  // implicit leading one (float is normal here)
        let shift = UInt32(-unbiased - 1)  // 14 ... 24: bits dropped from the 24-bit significand
        var result = significand >> shift
        let dropped = significand & ((1 << shift) - 1)
        let halfway = UInt32(1) << (shift - 1)
        if dropped > halfway || (dropped == halfway && (result & 1) == 1) {
            result += 1  // may become the smallest normal: correct
        }
        return sign | UInt16(result)
    }

    /// The `Float` equal to the bfloat16 with bit pattern `bits` (exact).
    @inlinable
    public static func float(fromBFloat16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
}
