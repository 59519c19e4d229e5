// =================================================================================================
// layout.cl: data movement: row gather, axis permutation, device copy
//
//   gather_rows:  y[r][c] = table[indices[r]][c]        (embedding lookup, token pooling)
//   permute:      y = x with axes reordered, up to 6 axes (general axis reorders)
//   copy_values:  y[i] = x[i]                            (the bandwidth yardstick of the benchmarks)
//   pack_panels:  y[b][p][k][l] = X_b[k][p · panelWidth + l], 0 past `outer`, where X_b is an
//                 [inner][outer] view of x_b given by strides (element (k, o) at
//                 k · strideInner + o · strideOuter, so a transpose is just other strides);
//                 the panel layout matmul_packed reads
//   image_patches: y[b][1 + gy · grid + gx][(c · p + py) · p + px] = x[b][c][gy · p + py][gx · p + px],
//                 row 0 of each image zero (the class token's slot): the patch embedding's im2col,
//                 on the device so the host uploads pixels and goes on enqueueing
//
// Layout: row-major float32; indices are int32, checked on the host to lie inside the table.
// permute: the output is walked in row-major order; outputShape[a] and inputStride[a] describe,
//   for output axis a, its size and the input stride it moves along (the host pads to 6 axes with
//   size-1 axes). One work-item per output element: consecutive work-items write consecutive
//   words; reads are strided by the permutation.
// gather_rows: a 1-D range over the output's elements (rows · width, rounded up and guarded):
//   consecutive work-items copy consecutive words of a row; one dimension, so the row count is
//   not capped by a GPU grid's 65 535 groups in dimensions 1 and 2.
// image_patches: one work-item per output element, consecutive work-items write consecutive words
//   and read runs of p consecutive pixels.
// Tunables: none.
// =================================================================================================

__kernel void gather_rows(const int rows, const int width, __global const float* table, __global const int* indices,
                          __global float* y) {
    const size_t index = get_global_id(0);
    if (index >= (size_t)rows * width) return;
    const int row = (int)(index / width);
    const int column = (int)(index - (size_t)row * width);
    y[index] = table[(size_t)indices[row] * width + column];
}

__kernel void permute(const int count,
                      const int size0, const int size1, const int size2, const int size3, const int size4, const int size5,
                      const int stride0, const int stride1, const int stride2, const int stride3, const int stride4, const int stride5,
                      __global const float* x, __global float* y) {
    const int index = get_global_id(0);
    if (index >= count) return;
    int remainder = index;
    const int i5 = remainder % size5; remainder /= size5;
    const int i4 = remainder % size4; remainder /= size4;
    const int i3 = remainder % size3; remainder /= size3;
    const int i2 = remainder % size2; remainder /= size2;
    const int i1 = remainder % size1; remainder /= size1;
    const int i0 = remainder;
    y[index] = x[i0 * stride0 + i1 * stride1 + i2 * stride2 + i3 * stride3 + i4 * stride4 + i5 * stride5];
}

__kernel void copy_values(const int count, __global const float* x, __global float* y) {
    const int index = get_global_id(0);
    if (index < count) y[index] = x[index];
}

__kernel void pack_panels(const int inner, const int outer, const int panelWidth,
                          const int strideInner, const int strideOuter, const int batchStride,
                          __global const float* x, __global float* y) {
    const int o = get_global_id(0);
    const int k = get_global_id(1);
    const int batch = get_global_id(2);
    const int panels = (outer + panelWidth - 1) / panelWidth;
    if (o >= panels * panelWidth || k >= inner) return;
    x += (size_t)batch * batchStride;
    y += (size_t)batch * panels * panelWidth * inner;
    const float value = o < outer ? x[(size_t)k * strideInner + (size_t)o * strideOuter] : 0.0f;
    y[((size_t)(o / panelWidth) * inner + k) * panelWidth + (o % panelWidth)] = value;
}

__kernel void image_patches(const int count, const int channels, const int size, const int patch,
                            __global const float* x, __global float* y) {
    const int index = get_global_id(0);
    if (index >= count) return;
    const int grid = size / patch;
    const int length = channels * patch * patch;
    const int tokens = 1 + grid * grid;
    const int within = index % length;
    const int token = (index / length) % tokens;
    const int b = index / (length * tokens);
    if (token == 0) {
        y[index] = 0.0f;
        return;
    }
    const int px = within % patch, py = (within / patch) % patch, c = within / (patch * patch);
    const int gy = (token - 1) / grid, gx = (token - 1) % grid;
    y[index] = x[((size_t)(b * channels + c) * size + gy * patch + py) * size + gx * patch + px];
}
