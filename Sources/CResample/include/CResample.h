// CResample: the image resampler's two passes in AVX2 (Pillow's fixed-point arithmetic, the same
// bytes as `ResamplePasses`' Swift loops), for processors that have it; Swift code is built for
// the baseline instruction set only.
#ifndef CRESAMPLE_H
#define CRESAMPLE_H

#include <stdint.h>

/// The horizontal pass over `rows` rows of interleaved RGB bytes `source_width` pixels wide:
/// output pixel `x` of a row is, per channel, `clamp((2^(precision_bits-1) + Σ_k byte[starts[x] + k]
/// · weights[x · tap_width + k]) >> precision_bits, 0, 255)` for `k < counts[x]`, written to
/// `target` (`rows × output_width` pixels). Windows must lie inside the row.
/// Returns 1 when done, 0 when the AVX2 build is not in use (see `vector_math_uses_avx2`) or
/// scratch memory could not be had; the caller then runs its own loop.
int resample_horizontal_rows(const uint8_t *source, long source_width, long rows, uint8_t *target, long output_width,
                             const long *starts, const long *counts, const int32_t *weights, long tap_width,
                             int precision_bits);

/// The vertical pass: output row `y` (`row_bytes` bytes) is, per byte `i`, the clamped sum over
/// `k < counts[y]` of `first_column[(starts[y] + k) · source_row_bytes + i] · weights[y · tap_width + k]`
/// (same rounding as above), written to `target` (`output_height × row_bytes`). Returns 1 when
/// done, 0 when the AVX2 build is not in use.
int resample_vertical_rows(const uint8_t *first_column, long source_row_bytes, long row_bytes, uint8_t *target,
                           long output_height, const long *starts, const long *counts, const int32_t *weights,
                           long tap_width, int precision_bits);

#endif
