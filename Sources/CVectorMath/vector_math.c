// =================================================================================================
// vector_math.c: exponential row passes and the exact GELU for the CPU backend, baseline and
// AVX2 + FMA builds of the same code, dispatched once by the processor's flags (see
// include/CVectorMath.h).
//
// The loops are written over eight-lane blocks so that the compiler vectorises them at either
// target; the exponential: x = n ln2 + r (Cody–Waite, n rounded by adding 1.5 * 2^23), e^r by a
// degree-7 Taylor polynomial, 2^n assembled in two exponent factors so that n = 128 stays finite.
//
// The exact GELU, x Φ(x) = 0.5 x erfc(-x/√2), runs in double precision between a float input and
// a float result, branch-free: erfc(|x|/√2) = e^(-x²/2) R(x), R a degree-11 polynomial in
// t = 1 / (1 + |x|/4) (scripts/fit_gelu_coefficients.py), x²/2 exact in double and its exponential
// reduced like the float one with a degree-8 Taylor polynomial, both polynomials by Estrin's
// scheme. The result is x - 0.5 x erfc for x > 0 and 0.5 x erfc for x < 0, so the negative tail
// keeps its relative accuracy where 1 + erf(x/√2) would cancel; at most 1 ulp from the correctly
// rounded result over normal results.
// =================================================================================================

#include "CVectorMath.h"
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define EXP_HIGH 88.722839f   // ln(FLT_MAX)
#define EXP_LOW (-87.336544f) // ln(FLT_MIN)

// The core both exponentials share: for an argument already clamped to the range, e^r by the
// degree-7 polynomial, and in `n` the integer with clamped = n ln2 + r.
static inline float exp_polynomial(float clamped, int32_t *n) {
    const float magic = 12582912.0f;
    float shifted = clamped * 1.44269504f + magic;
    float rounded = shifted - magic;
    float r = (clamped - rounded * 0.693145751953125f) - rounded * 1.428606765330187045e-6f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1;
    p = p * r + 1;
    int32_t shiftedBits, magicBits;
    memcpy(&shiftedBits, &shifted, 4);
    memcpy(&magicBits, &magic, 4);
    *n = shiftedBits - magicBits;
    return p;
}

// 2^exponent for exponent in [-126, 127], from its bits.
static inline float power_of_two(int32_t exponent) {
    int32_t bits = (exponent + 127) << 23;
    float value;
    memcpy(&value, &bits, 4);
    return value;
}

static inline float exp_one(float x) {
    float clamped = x < EXP_LOW ? EXP_LOW : (x > EXP_HIGH ? EXP_HIGH : x);
    int32_t n;
    float p = exp_polynomial(clamped, &n);
    int32_t half = n >> 1;  // two factors, so that n = 128 stays finite
    float result = p * power_of_two(half) * power_of_two(n - half);
    result = x < EXP_LOW ? 0.0f : result;
    result = x > EXP_HIGH ? INFINITY : result;
    return x != x ? x : result;
}

// e^x for the shifted rows of a softmax (x = a value minus the row maximum, so x ≤ 0 up to
// rounding): exp_one's reduction and polynomial, the exponent applied in one factor, which holds
// for n ≤ 127, that is x ≤ 88.0; above that the result is +inf (the true value passes 1.6e38).
// Fewer selects: NaN needs none (every step keeps it), nor does the clamp at the top.
#define SHIFTED_EXP_HIGH 88.0f

static inline float exp_up_to_88(float x) {
    float clamped = x < EXP_LOW ? EXP_LOW : x;  // NaN stays NaN
    clamped = clamped > SHIFTED_EXP_HIGH ? SHIFTED_EXP_HIGH : clamped;
    int32_t n;
    float result = exp_polynomial(clamped, &n) * power_of_two(n);
    result = x < EXP_LOW ? 0.0f : result;
    return x > SHIFTED_EXP_HIGH ? INFINITY : result;
}

// y[i] = EXPONENTIAL(scale * x[i] - shift) (not stored when y is NULL), returning their sum:
// the body of vector_exponentials and vector_shifted_exponentials.
#define DEFINE_EXPONENTIAL_SUM(NAME, EXPONENTIAL, ATTRIBUTES)                                          \
    ATTRIBUTES static float NAME(const float *x, float *y, long count, float scale, float shift) {    \
        float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                                   \
        float block[8];                                                                             \
        long index = 0;                                                                             \
        for (; index + 8 <= count; index += 8) {                                                    \
            for (int lane = 0; lane < 8; ++lane) block[lane] = EXPONENTIAL(scale * x[index + lane] - shift); \
            for (int lane = 0; lane < 8; ++lane) sums[lane] += block[lane];                         \
            if (y)                                                                                  \
                for (int lane = 0; lane < 8; ++lane) y[index + lane] = block[lane];                 \
        }                                                                                           \
        float sum = 0;                                                                              \
        for (int lane = 0; lane < 8; ++lane) sum += sums[lane];                                     \
        for (; index < count; ++index) {                                                            \
            float value = EXPONENTIAL(scale * x[index] - shift);                                    \
            if (y) y[index] = value;                                                                \
            sum += value;                                                                           \
        }                                                                                           \
        return sum;                                                                                 \
    }

// R(x) = erfc(|x|/√2) e^(x²/2) as a degree-11 polynomial in t = 1 / (1 + |x|/4), |x| in [0, 15]:
// largest relative error 3.18e-10 (scripts/fit_gelu_coefficients.py)
static const double gelu_scaled_erfc[12] = {
    5.0817756672316628e-06, 0.19932857554897349, 0.20125464193860004,
    0.17386237005224101, 0.22549421796364472, -0.083635692400370762,
    0.57776261911217097, -0.75630916112073454, 0.90990840135186646,
    -0.64063667838354421, 0.22425562007872926, -0.031289995599238909,
};

#define GELU_SQUARE_LIMIT 200.0 // x²/2 at |x| = 20: beyond every input whose result is computed
#define GELU_IDENTITY_FROM 10.0f // x > 10: 0.5 x erfc(x/√2) < 1e-22 x, so the result is x
#define GELU_ZERO_BELOW (-15.0f) // x < -15: |result| < 1e-49, below the smallest float

/// GELU(x) = 0.5 x erfc(-x/√2), rounded once from double. NaN stays NaN, +inf and large x give x,
/// -inf and x < -15 give -0, ±0 give ±0; results in the subnormal range are rounded, not flushed.
static inline float gelu_one(float x) {
    const double *coefficients = gelu_scaled_erfc;
    double value = x;
    double t = 1.0 / (1.0 + 0.25 * fabs(value));
    // Both polynomials by Estrin's scheme: short dependency chains (Horner's ran at two thirds
    // of the speed in the baseline build).
    double t2 = t * t, t4 = t2 * t2, t8 = t4 * t4;
    double pair01 = coefficients[0] + coefficients[1] * t, pair23 = coefficients[2] + coefficients[3] * t;
    double pair45 = coefficients[4] + coefficients[5] * t, pair67 = coefficients[6] + coefficients[7] * t;
    double pair89 = coefficients[8] + coefficients[9] * t, pair1011 = coefficients[10] + coefficients[11] * t;
    double scaled = (pair01 + pair23 * t2) + (pair45 + pair67 * t2) * t4 + (pair89 + pair1011 * t2) * t8;
    // e^(-x²/2): x²/2 is exact; clamped (NaN too) so that 2^n below stays a normal double.
    double square = 0.5 * value * value;
    square = square < GELU_SQUARE_LIMIT ? square : GELU_SQUARE_LIMIT;
    const double magic = 6755399441055744.0; // 1.5 * 2^52
    double shifted = square * -1.4426950408889634 + magic;
    double n = shifted - magic;
    double r = -square - n * 0.6931471805599453;
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    double term01 = 1 + r, term23 = 0.5 + r * (1.0 / 6);
    double term45 = 1.0 / 24 + r * (1.0 / 120), term67 = 1.0 / 720 + r * (1.0 / 5040);
    double p = (term01 + term23 * r2) + (term45 + term67 * r2) * r4 + (1.0 / 40320) * r8;
    uint64_t shiftedBits, magicBits;
    memcpy(&shiftedBits, &shifted, 8);
    memcpy(&magicBits, &magic, 8);
    uint64_t powerBits = (shiftedBits - magicBits + 1023) << 52; // 2^n, n in [-289, 0]
    double power;
    memcpy(&power, &powerBits, 8);
    double half = 0.5 * value * scaled * (p * power); // 0.5 x erfc(|x|/√2)
    float result = (float)(value > 0 ? value - half : half);
    result = x > GELU_IDENTITY_FROM ? x : result;
    return x < GELU_ZERO_BELOW ? -0.0f : result;
}

// The bodies, instantiated once per target by DEFINE_PASSES(suffix, attributes).
#define DEFINE_PASSES(SUFFIX, ATTRIBUTES)                                                              \
    ATTRIBUTES static float maximum_##SUFFIX(const float *x, long count, float scale) {              \
        float lanes[8];                                                                             \
        for (int lane = 0; lane < 8; ++lane) lanes[lane] = -INFINITY;                               \
        long index = 0;                                                                             \
        for (; index + 8 <= count; index += 8)                                                      \
            for (int lane = 0; lane < 8; ++lane) {                                                  \
                float value = scale * x[index + lane];                                              \
                lanes[lane] = value > lanes[lane] ? value : lanes[lane];                            \
            }                                                                                       \
        float result = -INFINITY;                                                                   \
        for (int lane = 0; lane < 8; ++lane) result = lanes[lane] > result ? lanes[lane] : result;  \
        for (; index < count; ++index) {                                                            \
            float value = scale * x[index];                                                         \
            result = value > result ? value : result;                                               \
        }                                                                                           \
        return result;                                                                              \
    }                                                                                               \
    DEFINE_EXPONENTIAL_SUM(exponentials_##SUFFIX, exp_one, ATTRIBUTES)                              \
    DEFINE_EXPONENTIAL_SUM(shifted_exponentials_##SUFFIX, exp_up_to_88, ATTRIBUTES)                 \
    ATTRIBUTES static void quick_gelu_##SUFFIX(const float *x, float *y, long count) {               \
        for (long index = 0; index < count; ++index) y[index] = x[index] / (1 + exp_one(-1.702f * x[index])); \
    }                                                                                               \
    ATTRIBUTES static void gelu_##SUFFIX(const float *x, float *y, long count) {                     \
        float block[8];                                                                             \
        long index = 0;                                                                             \
        for (; index + 8 <= count; index += 8) {                                                    \
            for (int lane = 0; lane < 8; ++lane) block[lane] = gelu_one(x[index + lane]);           \
            for (int lane = 0; lane < 8; ++lane) y[index + lane] = block[lane];                     \
        }                                                                                           \
        for (; index < count; ++index) y[index] = gelu_one(x[index]);                               \
    }                                                                                               \
    ATTRIBUTES static void softmax_rows_##SUFFIX(const float *x, float *y, long rows, long width,   \
                                                 float scale, long causal_from) {                   \
        for (long row = 0; row < rows; ++row) {                                                     \
            const float *input = x + row * width;                                                   \
            float *output = y + row * width;                                                        \
            long visible = causal_from >= 0 ? (causal_from + row) % width + 1 : width;              \
            float maximum = maximum_##SUFFIX(input, visible, scale);                                \
            float factor = 1 / shifted_exponentials_##SUFFIX(input, output, visible, scale, maximum); \
            long index = 0;                                                                         \
            for (; index + 8 <= visible; index += 8)                                                \
                for (int lane = 0; lane < 8; ++lane) output[index + lane] *= factor;                \
            for (; index < visible; ++index) output[index] *= factor;                               \
            for (; index < width; ++index) output[index] = 0;                                       \
        }                                                                                           \
    }

DEFINE_PASSES(baseline, )
#if defined(__x86_64__)
DEFINE_PASSES(avx2, __attribute__((target("avx2,fma"))))
#endif

static int processor_has_avx2(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

// Set on first use; an atomic, because the row passes run on several threads at once (threads
// that race on the first use all store the same value).
static _Atomic int uses_avx2 = -1;

int vector_math_uses_avx2(void) {
    int value = atomic_load_explicit(&uses_avx2, memory_order_relaxed);
    if (value < 0) {
        value = processor_has_avx2();
        atomic_store_explicit(&uses_avx2, value, memory_order_relaxed);
    }
    return value;
}

int vector_math_select(int avx2) {
    int value = avx2 && processor_has_avx2();
    atomic_store_explicit(&uses_avx2, value, memory_order_relaxed);
    return value;
}

float vector_maximum(const float *x, long count, float scale) {
#if defined(__x86_64__)
    if (vector_math_uses_avx2()) return maximum_avx2(x, count, scale);
#endif
    return maximum_baseline(x, count, scale);
}

float vector_exponentials(const float *x, float *y, long count, float scale, float shift) {
#if defined(__x86_64__)
    if (vector_math_uses_avx2()) return exponentials_avx2(x, y, count, scale, shift);
#endif
    return exponentials_baseline(x, y, count, scale, shift);
}

float vector_shifted_exponentials(const float *x, float *y, long count, float scale, float shift) {
#if defined(__x86_64__)
    if (vector_math_uses_avx2()) return shifted_exponentials_avx2(x, y, count, scale, shift);
#endif
    return shifted_exponentials_baseline(x, y, count, scale, shift);
}

void vector_quick_gelu(const float *x, float *y, long count) {
#if defined(__x86_64__)
    if (vector_math_uses_avx2()) {
        quick_gelu_avx2(x, y, count);
        return;
    }
#endif
    quick_gelu_baseline(x, y, count);
}

void vector_gelu(const float *x, float *y, long count) {
#if defined(__x86_64__)
    if (vector_math_uses_avx2()) {
        gelu_avx2(x, y, count);
        return;
    }
#endif
    gelu_baseline(x, y, count);
}

void vector_softmax_rows(const float *x, float *y, long rows, long width, float scale, long causal_from) {
#if defined(__x86_64__)
    if (vector_math_uses_avx2()) {
        softmax_rows_avx2(x, y, rows, width, scale, causal_from);
        return;
    }
#endif
    softmax_rows_baseline(x, y, rows, width, scale, causal_from);
}
