// =================================================================================================
// softmax.cl: row-wise softmax of scale · x, numerically stable, optional causal mask
//
// Layout: x, y are [rows][width], row-major float32; y may alias x.
// Causal mask: rows are stacked [width][width] score matrices; in row r the query position is
//   i = r mod width and columns j > i get probability 0 (the text tower's attention mask).
//
// Algorithm: one work-group of GROUP_SIZE work-items per row (global size rows · GROUP_SIZE).
//   Each work-item strides over the row by GROUP_SIZE, so a step of the group touches consecutive
//   words; the row maximum and then the sum of exp(scale · x − max) are tree-reduced in lane
//   memory; a last pass writes exp(·) / sum. Three reads and one write of the row.
//
// softmax_rows_serial (CPU devices): one work-item per row, no barriers (CPU drivers emulate them
//   with loops over work-items). Each pass walks the row in float8 vectors with per-lane partial
//   maxima and sums, combined at the end of the pass, plus a scalar tail.
//
// Tunables (-D): GROUP_SIZE (a power of two, at most the device's work-group limit).
// =================================================================================================

#ifndef GROUP_SIZE
#define GROUP_SIZE 64
#endif

// Tree reduction of `value` over the work-group; every work-item gets the result.
#define REDUCE(scratch, value, combine)                                          \
    scratch[lane] = (value);                                                    \
    barrier(CLK_LOCAL_MEM_FENCE);                                                \
    for (int offset = GROUP_SIZE / 2; offset > 0; offset >>= 1) {                      \
        if (lane < offset) scratch[lane] = combine(scratch[lane], scratch[lane + offset]); \
        barrier(CLK_LOCAL_MEM_FENCE);                                            \
    }

#define ADD(a, b) ((a) + (b))

__kernel __attribute__((reqd_work_group_size(GROUP_SIZE, 1, 1)))
void softmax_rows(const int width, const float scale, const int causalMask,
                  __global const float* x, __global float* y) {
    const int row = get_group_id(0);
    const int lane = get_local_id(0);
    __global const float* input = x + (size_t)row * width;
    __global float* output = y + (size_t)row * width;
    const int visible = causalMask ? (row % width) + 1 : width;
    __local float scratch[GROUP_SIZE];

    float maximum = -INFINITY;
    for (int column = lane; column < visible; column += GROUP_SIZE) maximum = fmax(maximum, scale * input[column]);
    REDUCE(scratch, maximum, fmax)
    maximum = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);

    float sum = 0.0f;
    for (int column = lane; column < visible; column += GROUP_SIZE) sum += exp(scale * input[column] - maximum);
    REDUCE(scratch, sum, ADD)
    const float inverse = 1.0f / scratch[0];

    for (int column = lane; column < width; column += GROUP_SIZE)
        output[column] = column < visible ? exp(scale * input[column] - maximum) * inverse : 0.0f;
}

// Horizontal maximum and sum of a float8.
#define MAX8(v) fmax(fmax(fmax((v).s0, (v).s1), fmax((v).s2, (v).s3)), fmax(fmax((v).s4, (v).s5), fmax((v).s6, (v).s7)))
#define SUM8(v) ((((v).s0 + (v).s1) + ((v).s2 + (v).s3)) + (((v).s4 + (v).s5) + ((v).s6 + (v).s7)))

__kernel void softmax_rows_serial(const int rows, const int width, const float scale, const int causalMask,
                                  __global const float* x, __global float* y) {
    const int row = get_global_id(0);
    if (row >= rows) return;
    __global const float* input = x + (size_t)row * width;
    __global float* output = y + (size_t)row * width;
    const int visible = causalMask ? (row % width) + 1 : width;
    const int vectorEnd = visible & ~7;

    float8 maxima = (float8)(-INFINITY);
    for (int column = 0; column < vectorEnd; column += 8) maxima = fmax(maxima, scale * vload8(0, input + column));
    float maximum = MAX8(maxima);
    for (int column = vectorEnd; column < visible; ++column) maximum = fmax(maximum, scale * input[column]);

    float8 sums = (float8)(0.0f);
    for (int column = 0; column < vectorEnd; column += 8) {
        const float8 value = exp(scale * vload8(0, input + column) - maximum);
        vstore8(value, 0, output + column);
        sums += value;
    }
    float sum = SUM8(sums);
    for (int column = vectorEnd; column < visible; ++column) {
        const float value = exp(scale * input[column] - maximum);
        output[column] = value;
        sum += value;
    }

    const float inverse = 1.0f / sum;
    for (int column = 0; column < vectorEnd; column += 8) vstore8(vload8(0, output + column) * inverse, 0, output + column);
    for (int column = vectorEnd; column < visible; ++column) output[column] *= inverse;
    for (int column = visible; column < width; ++column) output[column] = 0.0f;
}
