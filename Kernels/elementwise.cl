// =================================================================================================
// elementwise.cl: element-wise operations over flat float32 arrays
//
//   fill_value:  y[i] = value
//   scale:       y[i] = factor · x[i]
//   add:         c[i] = a[i] + b[i mod blockCount]   (same size, or a bias row broadcast over rows)
//   quick_gelu:  y[i] = x[i] · sigmoid(1.702 · x[i])            (CLIP's activation)
//   gelu:        y[i] = 0.5 · x[i] · (1 + erf(x[i] / √2))        (exact GELU)
//   relu:        y[i] = max(x[i], 0)                              (the ResNet tower's activation)
//
// Layout: flat arrays of `count` elements; outputs may alias inputs.
// Algorithm: one work-item per element, global size rounded up to the work-group size and
//   guarded by `count`. Memory-bound: one read (two for add) and one write per element.
// Tunables: none; the host rounds the global size to the device's preferred multiple.
// =================================================================================================

__kernel void fill_value(const int count, const float value, __global float* y) {
    const int index = get_global_id(0);
    if (index < count) y[index] = value;
}

__kernel void scale(const int count, const float factor, __global const float* x, __global float* y) {
    const int index = get_global_id(0);
    if (index < count) y[index] = factor * x[index];
}

__kernel void add(const int count, const int blockCount,
                  __global const float* a, __global const float* b, __global float* c) {
    const int index = get_global_id(0);
    if (index < count) c[index] = a[index] + b[blockCount == count ? index : index % blockCount];
}

__kernel void quick_gelu(const int count, __global const float* x, __global float* y) {
    const int index = get_global_id(0);
    if (index < count) {
        const float value = x[index];
        y[index] = value / (1.0f + exp(-1.702f * value));
    }
}

__kernel void gelu(const int count, __global const float* x, __global float* y) {
    const int index = get_global_id(0);
    if (index < count) {
        const float value = x[index];
        y[index] = 0.5f * value * (1.0f + erf(value * 0.70710678118654752f));
    }
}

__kernel void relu(const int count, __global const float* x, __global float* y) {
    const int index = get_global_id(0);
    if (index < count) y[index] = fmax(x[index], 0.0f);
}
