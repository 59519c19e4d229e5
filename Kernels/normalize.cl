// =================================================================================================
// normalize.cl: row L2 normalisation (the building block of cosine similarity)
//
//   y[r][c] = x[r][c] / ||x[r]||₂   (a row of zeros stays zero)
//
// Layout: x, y are [rows][width] row-major float32; y may alias x.
// Cosine similarity of A [m][d] and B [n][d] is normalise(A) · normalise(B)ᵀ: the host runs this
//   kernel on both and then matmul.cl, so the similarity matrix gets the tuned product.
//
// Algorithm: one work-group of GROUP_SIZE work-items per row; the sum of squares is tree-reduced
//   in local memory, then every work-item scales its strided share of the row.
//
// l2_normalize_rows_serial (CPU devices): one work-item per row, no barriers, float8 passes.
//
// Tunables (-D): GROUP_SIZE (a power of two, at most the device's work-group limit).
// =================================================================================================

#ifndef GROUP_SIZE
#define GROUP_SIZE 64
#endif

__kernel __attribute__((reqd_work_group_size(GROUP_SIZE, 1, 1)))
void l2_normalize_rows(const int width, __global const float* x, __global float* y) {
    const int row = get_group_id(0);
    const int lane = get_local_id(0);
    __global const float* input = x + (size_t)row * width;
    __global float* output = y + (size_t)row * width;
    __local float scratch[GROUP_SIZE];

    float squares = 0.0f;
    for (int column = lane; column < width; column += GROUP_SIZE) squares += input[column] * input[column];
    scratch[lane] = squares;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int offset = GROUP_SIZE / 2; offset > 0; offset >>= 1) {
        if (lane < offset) scratch[lane] += scratch[lane + offset];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[0];
    const float inverse = total > 0.0f ? rsqrt(total) : 0.0f;
    for (int column = lane; column < width; column += GROUP_SIZE) output[column] = input[column] * inverse;
}

#define SUM8(v) ((((v).s0 + (v).s1) + ((v).s2 + (v).s3)) + (((v).s4 + (v).s5) + ((v).s6 + (v).s7)))

__kernel void l2_normalize_rows_serial(const int rows, const int width, __global const float* x, __global float* y) {
    const int row = get_global_id(0);
    if (row >= rows) return;
    __global const float* input = x + (size_t)row * width;
    __global float* output = y + (size_t)row * width;
    const int vectorEnd = width & ~7;

    float8 squares = (float8)(0.0f);
    for (int column = 0; column < vectorEnd; column += 8) {
        const float8 value = vload8(0, input + column);
        squares = fma(value, value, squares);
    }
    float total = SUM8(squares);
    for (int column = vectorEnd; column < width; ++column) total += input[column] * input[column];
    const float inverse = total > 0.0f ? rsqrt(total) : 0.0f;
    for (int column = 0; column < vectorEnd; column += 8) vstore8(vload8(0, input + column) * inverse, 0, output + column);
    for (int column = vectorEnd; column < width; ++column) output[column] = input[column] * inverse;
}
