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
