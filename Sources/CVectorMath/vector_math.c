// =================================================================================================
// vector_math.c: exponential row passes for the CPU backend, baseline and AVX2 + FMA builds of
// the same code, dispatched once by the processor's flags (see include/CVectorMath.h).
//
// The loops are written over eight-lane blocks so that the compiler vectorises them at either
// target; the exponential: x = n ln2 + r (Cody–Waite, n rounded by adding 1.5 * 2^23), e^r by a
// degree-7 Taylor polynomial, 2^n assembled in two exponent factors so that n = 128 stays finite.
// =================================================================================================

#include "CVectorMath.h"
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define EXP_HIGH 88.722839f   // ln(FLT_MAX)
#define EXP_LOW (-87.336544f) // ln(FLT_MIN)

static inline float exp_one(float x) {
    float clamped = x < EXP_LOW ? EXP_LOW : (x > EXP_HIGH ? EXP_HIGH : x);
    const float magic = 12582912.0f;
    float shifted = clamped * 1.44269504f + magic;
    float n = shifted - magic;
    float r = (clamped - n * 0.693145751953125f) - n * 1.428606765330187045e-6f;
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
    int32_t bits = shiftedBits - magicBits, half = bits >> 1;
    int32_t firstBits = (half + 127) << 23, secondBits = (bits - half + 127) << 23;
    float first, second;
    memcpy(&first, &firstBits, 4);
    memcpy(&second, &secondBits, 4);
    float result = p * first * second;
    result = x < EXP_LOW ? 0.0f : result;
    result = x > EXP_HIGH ? INFINITY : result;
    return x != x ? x : result;
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
    ATTRIBUTES static float exponentials_##SUFFIX(const float *x, float *y, long count, float scale, \
                                                  float shift) {                                    \
        float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                                   \
        float block[8];                                                                             \
        long index = 0;                                                                             \
        for (; index + 8 <= count; index += 8) {                                                    \
            for (int lane = 0; lane < 8; ++lane) block[lane] = exp_one(scale * x[index + lane] - shift); \
            for (int lane = 0; lane < 8; ++lane) sums[lane] += block[lane];                         \
            if (y)                                                                                  \
                for (int lane = 0; lane < 8; ++lane) y[index + lane] = block[lane];                 \
        }                                                                                           \
        float sum = 0;                                                                              \
        for (int lane = 0; lane < 8; ++lane) sum += sums[lane];                                     \
        for (; index < count; ++index) {                                                            \
            float value = exp_one(scale * x[index] - shift);                                        \
            if (y) y[index] = value;                                                                \
            sum += value;                                                                           \
        }                                                                                           \
        return sum;                                                                                 \
    }                                                                                               \
    ATTRIBUTES static void quick_gelu_##SUFFIX(const float *x, float *y, long count) {               \
        for (long index = 0; index < count; ++index) y[index] = x[index] / (1 + exp_one(-1.702f * x[index])); \
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

void vector_quick_gelu(const float *x, float *y, long count) {
#if defined(__x86_64__)
    if (vector_math_uses_avx2()) {
        quick_gelu_avx2(x, y, count);
        return;
    }
#endif
    quick_gelu_baseline(x, y, count);
}
