// =================================================================================================
// layer_norm.cl: layer normalisation over the last dimension, with affine weight and bias
//
//   y[r][c] = (x[r][c] − mean_r) / sqrt(var_r + epsilon) · weight[c] + bias[c]
//
// Layout: x, y are [rows][width] row-major float32 (y may alias x); weight, bias are [width].
//
// Algorithm: one work-group of GROUP_SIZE work-items per row. Pass 1 tree-reduces the sum (mean),
//   pass 2 the sum of squared deviations from that mean (two passes are exact where the
//   E[x²] − E[x]² shortcut cancels catastrophically), pass 3 writes. Each work-item strides by
//   GROUP_SIZE, so the group reads consecutive words at every step.
//
// layer_norm_serial (CPU devices): one work-item per row, no barriers; the same three passes in
//   float8 vectors with per-lane partial sums and a scalar tail.
//
// Tunables (-D): GROUP_SIZE (a power of two, at most the device's work-group limit).
// =================================================================================================

#ifndef GROUP_SIZE
#define GROUP_SIZE 64
#endif

#define REDUCE_SUM(scratch, value)                                               \
    scratch[lane] = (value);                                                    \
    barrier(CLK_LOCAL_MEM_FENCE);                                                \
    for (int offset = GROUP_SIZE / 2; offset > 0; offset >>= 1) {                      \
        if (lane < offset) scratch[lane] += scratch[lane + offset];               \
        barrier(CLK_LOCAL_MEM_FENCE);                                            \
    }

__kernel __attribute__((reqd_work_group_size(GROUP_SIZE, 1, 1)))
void layer_norm(const int width, const float epsilon,
                __global const float* x, __global const float* weight, __global const float* bias,
                __global float* y) {
    const int row = get_group_id(0);
    const int lane = get_local_id(0);
    __global const float* input = x + (size_t)row * width;
    __global float* output = y + (size_t)row * width;
    __local float scratch[GROUP_SIZE];

    float sum = 0.0f;
    for (int column = lane; column < width; column += GROUP_SIZE) sum += input[column];
    REDUCE_SUM(scratch, sum)
    const float mean = scratch[0] / width;
    barrier(CLK_LOCAL_MEM_FENCE);

    float squares = 0.0f;
    for (int column = lane; column < width; column += GROUP_SIZE) {
        const float centered = input[column] - mean;
        squares += centered * centered;
    }
    REDUCE_SUM(scratch, squares)
    const float inverse = rsqrt(scratch[0] / width + epsilon);

    for (int column = lane; column < width; column += GROUP_SIZE)
        output[column] = (input[column] - mean) * inverse * weight[column] + bias[column];
}

#define SUM8(v) ((((v).s0 + (v).s1) + ((v).s2 + (v).s3)) + (((v).s4 + (v).s5) + ((v).s6 + (v).s7)))

__kernel void layer_norm_serial(const int rows, const int width, const float epsilon,
                                __global const float* x, __global const float* weight, __global const float* bias,
                                __global float* y) {
    const int row = get_global_id(0);
    if (row >= rows) return;
    __global const float* input = x + (size_t)row * width;
    __global float* output = y + (size_t)row * width;
    const int vectorEnd = width & ~7;

    float8 sums = (float8)(0.0f);
    for (int column = 0; column < vectorEnd; column += 8) sums += vload8(0, input + column);
    float sum = SUM8(sums);
    for (int column = vectorEnd; column < width; ++column) sum += input[column];
    const float mean = sum / width;

    float8 squares = (float8)(0.0f);
    for (int column = 0; column < vectorEnd; column += 8) {
        const float8 centered = vload8(0, input + column) - mean;
        squares = fma(centered, centered, squares);
    }
    float squareSum = SUM8(squares);
    for (int column = vectorEnd; column < width; ++column) {
        const float centered = input[column] - mean;
        squareSum += centered * centered;
    }
    const float inverse = rsqrt(squareSum / width + epsilon);

    for (int column = 0; column < vectorEnd; column += 8)
        vstore8((vload8(0, input + column) - mean) * inverse * vload8(0, weight + column) + vload8(0, bias + column), 0, output + column);
    for (int column = vectorEnd; column < width; ++column)
        output[column] = (input[column] - mean) * inverse * weight[column] + bias[column];
}
