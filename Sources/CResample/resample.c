// =================================================================================================
// resample.c: the resampler's two passes in AVX2. The horizontal pass holds eight rows in the eight
// 32-bit lanes of a register; the vertical one keeps 32 bytes' sums in registers over the taps.
//
// Each output pixel sums a window of input pixels along its row. Summed one pixel at a time, the
// three channels' products are scalar (`ResamplePasses.horizontal`); here eight consecutive rows
// are first transposed into one word per (column, row) with R, G and B in its low three bytes, so
// tap k of output pixel x is one aligned load of eight words (the column `starts[x] + k` of the
// eight rows), three masks or shifts, and three 32-bit multiplies by the tap's weight broadcast.
// The sums are Pillow's: 32-bit integers from one half, shifted and clamped, so the bytes are the
// Swift loop's exactly (integer sums do not depend on their order).
// =================================================================================================

#include "CResample.h"
#include "CVectorMath.h"
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2"))) static void horizontal_avx2(
    const uint8_t *source, long source_width, long rows, uint8_t *target, long output_width, const long *starts,
    const long *counts, const int32_t *weights, long tap_width, int precision_bits, uint32_t *columns) {
    const __m256i half = _mm256_set1_epi32(1 << (precision_bits - 1)), low_byte = _mm256_set1_epi32(0xff);
    const __m256i zero = _mm256_setzero_si256(), top = _mm256_set1_epi32(255);
    for (long first = 0; first < rows; first += 8) {
        long count = rows - first < 8 ? rows - first : 8;
        // columns[8 p + lane] = pixel p of row first + lane (the last row again past the end).
        for (long lane = 0; lane < 8; ++lane) {
            const uint8_t *row = source + (first + (lane < count ? lane : count - 1)) * source_width * 3;
            for (long p = 0; p < source_width; ++p)
                columns[8 * p + lane] = row[3 * p] | (uint32_t)row[3 * p + 1] << 8 | (uint32_t)row[3 * p + 2] << 16;
        }
        for (long x = 0; x < output_width; ++x) {
            __m256i red = half, green = half, blue = half;
            const uint32_t *window = columns + 8 * starts[x];
            const int32_t *pixel_weights = weights + x * tap_width;
            for (long tap = 0; tap < counts[x]; ++tap) {
                __m256i words = _mm256_load_si256((const __m256i *)(window + 8 * tap));
                __m256i weight = _mm256_set1_epi32(pixel_weights[tap]);
                red = _mm256_add_epi32(red, _mm256_mullo_epi32(_mm256_and_si256(words, low_byte), weight));
                green = _mm256_add_epi32(
                    green, _mm256_mullo_epi32(_mm256_and_si256(_mm256_srli_epi32(words, 8), low_byte), weight));
                blue = _mm256_add_epi32(blue, _mm256_mullo_epi32(_mm256_srli_epi32(words, 16), weight));
            }
            int32_t sums[3][8];
            _mm256_storeu_si256((__m256i *)sums[0], _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(red, precision_bits), zero), top));
            _mm256_storeu_si256((__m256i *)sums[1], _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(green, precision_bits), zero), top));
            _mm256_storeu_si256((__m256i *)sums[2], _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(blue, precision_bits), zero), top));
            for (long lane = 0; lane < count; ++lane) {
                uint8_t *out = target + ((first + lane) * output_width + x) * 3;
                out[0] = (uint8_t)sums[0][lane];
                out[1] = (uint8_t)sums[1][lane];
                out[2] = (uint8_t)sums[2][lane];
            }
        }
    }
}

// Output row y of the vertical pass, 32 bytes at a time: four registers of eight 32-bit sums
// stay in place over the taps (each tap: four widenings of eight bytes, four multiplies by the
// broadcast weight, four additions), then shift, clamp and pack back to 32 bytes in order.
__attribute__((target("avx2"))) static void vertical_avx2(
    const uint8_t *first_column, long source_row_bytes, long row_bytes, uint8_t *target, long output_height,
    const long *starts, const long *counts, const int32_t *weights, long tap_width, int precision_bits) {
    const __m256i half = _mm256_set1_epi32(1 << (precision_bits - 1));
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (long y = 0; y < output_height; ++y) {
        const uint8_t *first_row = first_column + starts[y] * source_row_bytes;
        const int32_t *row_weights = weights + y * tap_width;
        uint8_t *out = target + y * row_bytes;
        long index = 0;
        for (; index + 32 <= row_bytes; index += 32) {
            __m256i sums[4] = {half, half, half, half};
            for (long tap = 0; tap < counts[y]; ++tap) {
                const uint8_t *bytes = first_row + tap * source_row_bytes + index;
                __m256i weight = _mm256_set1_epi32(row_weights[tap]);
                for (int part = 0; part < 4; ++part) {
                    __m256i widened = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(bytes + 8 * part)));
                    sums[part] = _mm256_add_epi32(sums[part], _mm256_mullo_epi32(widened, weight));
                }
            }
            for (int part = 0; part < 4; ++part) sums[part] = _mm256_srai_epi32(sums[part], precision_bits);
            // Saturating packs clamp to 0...255; they interleave 128-bit halves, which the
            // permutation puts back in order.
            __m256i words = _mm256_packus_epi16(_mm256_packs_epi32(sums[0], sums[1]), _mm256_packs_epi32(sums[2], sums[3]));
            _mm256_storeu_si256((__m256i *)(out + index), _mm256_permutevar8x32_epi32(words, order));
        }
        for (; index < row_bytes; ++index) {
            int32_t sum = 1 << (precision_bits - 1);
            for (long tap = 0; tap < counts[y]; ++tap) sum += first_row[tap * source_row_bytes + index] * row_weights[tap];
            sum >>= precision_bits;
            out[index] = (uint8_t)(sum < 0 ? 0 : (sum > 255 ? 255 : sum));
        }
    }
}
#endif

int resample_vertical_rows(const uint8_t *first_column, long source_row_bytes, long row_bytes, uint8_t *target,
                           long output_height, const long *starts, const long *counts, const int32_t *weights,
                           long tap_width, int precision_bits) {
#if defined(__x86_64__)
    if (!vector_math_uses_avx2()) return 0;
    vertical_avx2(first_column, source_row_bytes, row_bytes, target, output_height, starts, counts, weights, tap_width,
                  precision_bits);
    return 1;
#else
    (void)first_column, (void)source_row_bytes, (void)row_bytes, (void)target, (void)output_height, (void)starts;
    (void)counts, (void)weights, (void)tap_width, (void)precision_bits;
    return 0;
#endif
}

int resample_horizontal_rows(const uint8_t *source, long source_width, long rows, uint8_t *target, long output_width,
                             const long *starts, const long *counts, const int32_t *weights, long tap_width,
                             int precision_bits) {
#if defined(__x86_64__)
    if (!vector_math_uses_avx2() || source_width <= 0 || rows <= 0) return 0;
    uint32_t *columns = aligned_alloc(32, (size_t)source_width * 8 * sizeof(uint32_t));
    if (!columns) return 0;
    horizontal_avx2(source, source_width, rows, target, output_width, starts, counts, weights, tap_width,
                    precision_bits, columns);
    free(columns);
    return 1;
#else
    (void)source, (void)source_width, (void)rows, (void)target, (void)output_width, (void)starts, (void)counts;
    (void)weights, (void)tap_width, (void)precision_bits;
    return 0;
#endif
}
