// =================================================================================================
// pooling.cl: average pooling over channels-last images
//
//   average_pool:
//     y[b][oy][ox][c] = mean over ky, kx < k of x[b][oy · k + ky][ox · k + kx][c]
//     for x [batch][height][width][C], window = stride = k, no padding, outHeight = height / k
//     (rounded down, likewise outWidth): PyTorch's AvgPool2d(k), the ResNet tower's stem pool and
//     the anti-aliasing pool of its strided blocks.
//
// Layout: row-major float32, channels last (NHWC).
// Algorithm: one work-item per output element; consecutive work-items read and write consecutive
//   channels. The sum runs in the order ky, kx, as the twin's does.
// Tunables: none.
// =================================================================================================

__kernel void average_pool(const int count, const int height, const int width, const int channels,
                           const int window, const int outHeight, const int outWidth,
                           __global const float* x, __global float* y) {
    const int index = get_global_id(0);
    if (index >= count) return;
    const int c = index % channels;
    const int ox = (index / channels) % outWidth;
    const int oy = (index / (channels * outWidth)) % outHeight;
    const int b = index / (channels * outWidth * outHeight);
    float sum = 0.0f;
    for (int ky = 0; ky < window; ++ky) {
        __global const float* source = x + (((size_t)b * height + oy * window + ky) * width + ox * window) * channels + c;
        for (int kx = 0; kx < window; ++kx) sum += source[kx * channels];
    }
    y[index] = sum / (float)(window * window);
}
