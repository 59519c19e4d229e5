// =================================================================================================
// adamw.c: the AdamW update of the prototype trainer on the CPU backend, baseline and AVX2 + FMA
// builds of one loop, dispatched by vector_math_uses_avx2() (vector_math.c).
//
// The loop is written on restrict pointers with a vectorisable square root, so that the compiler
// turns it into eight-lane code at the AVX2 target (four-lane at the baseline): Swift's version of
// this loop ran at one element at a time and took a fifth of a training epoch.
// =================================================================================================

#include "CVectorMath.h"
#include <math.h>

#if defined(__has_builtin)
#if __has_builtin(__builtin_elementwise_sqrt)
#define CORRECTLY_ROUNDED_SQRT(x) __builtin_elementwise_sqrt(x) // no errno: vectorises
#endif
#endif
#ifndef CORRECTLY_ROUNDED_SQRT
#define CORRECTLY_ROUNDED_SQRT(x) sqrtf(x)
#endif

#define DEFINE_ADAMW(SUFFIX, ATTRIBUTES)                                                                 \
    ATTRIBUTES static void adamw_##SUFFIX(float *restrict parameters, const float *restrict gradient,   \
                                          float *restrict first, float *restrict second, long count,     \
                                          vector_adamw_scalars s) {                                      \
        for (long index = 0; index < count; ++index) {                                                   \
            float g = gradient[index];                                                                   \
            float m = s.beta1 * first[index] + (1 - s.beta1) * g;                                        \
            float v = s.beta2 * second[index] + (1 - s.beta2) * g * g;                                   \
            first[index] = m;                                                                            \
            second[index] = v;                                                                           \
            parameters[index] = parameters[index] * s.decay                                              \
                - s.step_size * m / (CORRECTLY_ROUNDED_SQRT(v) * s.inverse_correction_root + s.epsilon); \
        }                                                                                                \
    }

DEFINE_ADAMW(baseline, )
#if defined(__x86_64__)
DEFINE_ADAMW(avx2, __attribute__((target("avx2,fma"))))
#endif

void vector_adamw(float *parameters, const float *gradient, float *first_moment, float *second_moment, long count,
                  vector_adamw_scalars scalars) {
#if defined(__x86_64__)
    if (vector_math_uses_avx2()) {
        adamw_avx2(parameters, gradient, first_moment, second_moment, count, scalars);
        return;
    }
#endif
    adamw_baseline(parameters, gradient, first_moment, second_moment, count, scalars);
}
