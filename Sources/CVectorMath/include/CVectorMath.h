// CVectorMath: the CPU backend's exponential row passes, softmax rows, exact GELU and AdamW update, compiled twice (baseline
// x86-64 and AVX2 + FMA) and chosen once at run time from the processor's flags, because Swift
// code is built for the baseline instruction set only. Every function reads `count` floats;
// outputs may alias inputs. The exponential: Cody–Waite reduction and a degree-7 polynomial, at
// most 2 ulp over normal results (Compute's `VectorMath`, tested by `FastExpTests`); NaN stays
// NaN, overflow gives +inf, underflow 0. The GELU: double precision inside, at most 1 ulp over
// normal results (tested by `FastGELUTests`).
#ifndef CVECTORMATH_H
#define CVECTORMATH_H

/// The largest `scale * x[i]` (-inf for no elements).
float vector_maximum(const float *x, long count, float scale);

/// `y[i] = exp(scale * x[i] - shift)` (not stored when `y` is NULL); returns their sum.
float vector_exponentials(const float *x, float *y, long count, float scale, float shift);

/// `vector_exponentials` for a softmax row, whose arguments `scale * x[i] - shift` are at most
/// about 0 (`shift` is the row maximum): the same error bound up to 88.0, with fewer selects;
/// arguments above 88.0 give +inf.
float vector_shifted_exponentials(const float *x, float *y, long count, float scale, float shift);

/// Softmax of `scale * x` over each of `rows` rows of `width` floats (`y` may be `x`): the row
/// maximum, `vector_shifted_exponentials`, then one scaling by the reciprocal of their sum. With
/// `causal_from` ≥ 0 the rows are those of stacked `[width, width]` score matrices under a causal
/// mask, the first being row `causal_from` of the stack: row r sees its first `r % width + 1`
/// columns and the rest of it is set to 0; -1 for no mask.
void vector_softmax_rows(const float *x, float *y, long rows, long width, float scale, long causal_from);

/// `y[i] = x[i] / (1 + exp(-1.702 x[i]))` (QuickGELU).
void vector_quick_gelu(const float *x, float *y, long count);

/// `y[i] = 0.5 x[i] (1 + erf(x[i] / √2))` (the exact GELU, written 0.5 x erfc(-x/√2) so the
/// negative tail keeps its relative accuracy). NaN stays NaN, +inf gives +inf, -inf and x < -15
/// give -0, ±0 give ±0.
void vector_gelu(const float *x, float *y, long count);

/// The scalars of one AdamW step (see vector_adamw).
typedef struct {
    float decay;                   ///< 1 - learning rate * weight decay
    float step_size;               ///< learning rate / (1 - beta1^t)
    float inverse_correction_root; ///< 1 / sqrt(1 - beta2^t)
    float beta1, beta2, epsilon;
} vector_adamw_scalars;

/// One AdamW step in place over `count` elements (adamw.c); the four arrays must not overlap:
/// `m = beta1 m + (1 - beta1) g`, `v = beta2 v + (1 - beta2) g^2`,
/// `p = p decay - step_size m / (sqrt(v) inverse_correction_root + epsilon)`.
void vector_adamw(float *parameters, const float *gradient, float *first_moment, float *second_moment, long count,
                  vector_adamw_scalars scalars);

/// 1 when the AVX2 + FMA versions run, 0 for the baseline ones.
int vector_math_uses_avx2(void);

/// Runs the AVX2 + FMA versions when `avx2` is 1 and the processor has both, else the baseline
/// ones (for tests of both builds); returns what is now in use.
int vector_math_select(int avx2);

#endif
